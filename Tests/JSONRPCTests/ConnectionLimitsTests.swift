#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSONRPC
import TestSupport
import Testing

/// The limits a client can reach by sending more, not bigger: batch length
/// and requests in flight. Each is a clear -32600 that names its option, and
/// the connection goes on serving.
@Suite struct ConnectionLimitsTests {
  @Test func aBatchOverTheLimitIsOneErrorAndRunsNothing() async throws {
    let h = Harness(options: Connection.Options(maxBatchLength: 3, limitSettings: .init(maxBatchLength: "--max-batch")))
    func batch(_ ids: ClosedRange<Int>) -> String {
      "[" + ids.map { #"{"jsonrpc":"2.0","id":\#($0),"method":"echo","params":[\#($0)]}"# }.joined(separator: ",")
        + "]\n"
    }
    h.client.sendRaw(batch(1...4))
    let refused = try await h.client.expectMessage()
    #expect(refused.arrayValue == nil, "a refused batch is one reply, not an array")
    #expect(refused["id"] == JSONValue.null)
    #expect(refused["error"]?["code"] == -32600)
    let message = refused["error"]?["message"]?.stringValue ?? ""
    #expect(message.contains("more than 3 messages") && message.contains("--max-batch"), "\(message)")

    // At the limit: served, one reply each.
    h.client.sendRaw(batch(5...7))
    let reply = try await h.client.expectMessage()
    let served = try #require(reply.arrayValue)
    #expect(served.compactMap { $0["id"]?.intValue }.sorted() == [5, 6, 7])
    #expect(try await h.finish().isEmpty)
  }

  @Test func requestsPastTheInFlightLimitAreRefusedAtOnceAndTheSlotsComeBack() async throws {
    let h = Harness(options: Connection.Options(maxInFlight: 2, limitSettings: .init(maxInFlight: "--max-in-flight")))
    h.request(1, "slow")
    h.request(2, "slow")
    h.request(3, "slow")
    let refused = try await h.client.expectMessage()
    #expect(refused["id"] == 3)
    #expect(refused["error"]?["code"] == -32600)
    let message = refused["error"]?["message"]?.stringValue ?? ""
    #expect(message.contains("--max-in-flight"), "\(message)")

    // Inline answers hold no slot: still served while the slots are full.
    h.request(4, "echo", params: ["x": 1])
    #expect(try await h.client.expectMessage()["id"] == 4)

    // A finished request gives its slot back.
    h.cancel(1)
    let cancelled = try await h.client.expectMessage()
    #expect(cancelled["id"] == 1)
    #expect(cancelled["error"]?["code"] == -32800)
    h.request(5, "fast")
    let fast = try await h.client.expectMessage()
    #expect(fast["id"] == 5)
    #expect(fast["result"] == "fast")

    h.cancel(2)
    #expect(try await h.client.expectMessage()["id"] == 2)
    #expect(try await h.finish().isEmpty)
  }

  /// A client that sends and never reads: past the backlog limit the
  /// connection stops reading its requests (the pipe fills and the client's
  /// writes block) instead of queueing replies without bound; once the
  /// client reads, every request is answered.
  @Test func aClientThatDoesNotReadIsNotReadFrom() async throws {
    let h = Harness(options: Connection.Options(maxOutputBacklogBytes: 256 << 10))
    let fd = h.client.input
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    // Each request is 4096 bytes, at most PIPE_BUF, so a non-blocking write
    // takes all of it or none; its echo is as large.
    func request(_ id: Int) -> [UInt8] {
      let head = #"{"jsonrpc":"2.0","id":\#(id),"method":"echo","params":[""#
      let tail = "\"]}\n"
      return Array((head + String(repeating: "x", count: 4096 - head.utf8.count - tail.utf8.count) + tail).utf8)
    }
    var sent = 0
    var written = 0
    writing: while written < 64 << 20 {
      let bytes = request(sent)
      while true {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n == bytes.count { break }
        #expect(n < 0 && errno == EAGAIN, "a partial write of a PIPE_BUF-sized request")
        // Blocked: wait a little for the server to read more.
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&poller, 1, 300) == 0 { break writing }
      }
      sent += 1
      written += bytes.count
    }
    #expect(written < 8 << 20, "the server read \(written) bytes from a client that read nothing back")
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)

    let (byId, others) = try await h.client.replies(for: (0..<sent).map { .int(Int64($0)) })
    #expect(byId.count == sent && others.isEmpty)
    #expect(try await h.finish().isEmpty)
  }

  @Test func theDefaultsAreGenerous() {
    let options = Connection.Options()
    #expect(options.maxBatchLength >= 1000)
    #expect(options.maxInFlight >= 1000)
    #expect(options.maxOutputBacklogBytes >= options.maxMessageBytes)
  }
}
