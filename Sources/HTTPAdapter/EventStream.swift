import JSONRPC
import Synchronization

/// One `GET /api/conversations/{id}/events` response: a subscription's
/// notifications as Server-Sent Events (`event: gitChanged`, `data:` the
/// notification's params), plus heartbeat comments. The hub sends into
/// it; the response body takes from it as fast as the client reads, and
/// what waits between the two is the backlog the hub drops a slow client by.
final class EventStream: NotificationSink, Sendable {
  let events: AsyncStream<[UInt8]>
  private let continuation: AsyncStream<[UInt8]>.Continuation
  private let waiting = Atomic(0)

  init() {
    (events, continuation) = AsyncStream.makeStream(of: [UInt8].self)
  }

  func notify(_ method: String, params: JSONValue) {
    // `workspace/gitChanged` -> `gitChanged`: the name a page listens for.
    let name = method.split(separator: "/").last.map(String.init) ?? method
    // JSON text has no raw newline, so one `data:` line carries it.
    push(Array("event: \(name)\ndata: ".utf8) + JSONWriter.encode(params) + Array("\n\n".utf8))
  }

  /// A comment line: keeps proxies from closing an idle stream.
  func heartbeat() { push(Array(": heartbeat\n\n".utf8)) }

  /// Ends the stream (server shutdown): the body finishes after what is queued.
  func finish() { continuation.finish() }

  /// The client stopped reading: nothing more will come, so the response ends.
  func subscriptionDropped(_ id: String) { finish() }

  /// The body wrote `count` bytes taken from `events`.
  func written(_ count: Int) { waiting.subtract(count, ordering: .relaxed) }

  var backlogBytes: Int { waiting.load(ordering: .relaxed) }

  private func push(_ bytes: [UInt8]) {
    waiting.add(bytes.count, ordering: .relaxed)
    if case .terminated = continuation.yield(bytes) { waiting.subtract(bytes.count, ordering: .relaxed) }
  }
}
