#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import Synchronization
import Testing

/// An open `GET .../events` response read on a thread of its own.
final class EventStreamReader: Sendable {
  let fd: Int32
  private let received = Mutex<[UInt8]>([])
  private let ended = Atomic(false)

  init(port: Int, target: String, headers: [(String, String)] = []) throws {
    fd = try RawHTTP.connect(port: port)
    var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    head += "\r\n"
    let bytes = Array(head.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    let thread = Thread { [self] in
      var buffer = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { break }
        received.withLock { $0.append(contentsOf: buffer[0..<n]) }
      }
      ended.store(true, ordering: .releasing)
    }
    thread.start()
  }

  var text: String { received.withLock { String(decoding: $0, as: UTF8.self) } }
  var isEnded: Bool { ended.load(ordering: .acquiring) }

  /// The body so far, chunked transfer encoding undone.
  var body: String {
    let raw = received.withLock { $0 }
    guard let head = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { return "" }
    var rest = raw[head.upperBound...]
    var body: [UInt8] = []
    while let line = rest.firstRange(of: Array("\r\n".utf8)),
      let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self), radix: 16),
      rest.distance(from: line.upperBound, to: rest.endIndex) >= size + 2
    {
      let start = line.upperBound
      body += rest[start..<rest.index(start, offsetBy: size)]
      rest = rest[rest.index(start, offsetBy: size + 2)...]
    }
    return String(decoding: body, as: UTF8.self)
  }

  /// The `data:` of every `event: NAME`, parsed.
  func events(_ name: String) -> [JSONValue] {
    body.components(separatedBy: "\n\n").compactMap { block in
      let lines = block.components(separatedBy: "\n")
      guard lines.contains("event: \(name)"), let data = lines.first(where: { $0.hasPrefix("data: ") }) else {
        return nil
      }
      return try? JSONParser.parse(String(data.dropFirst(6)))
    }
  }

  @discardableResult
  func wait(seconds: Double = 5, until done: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
      if done() { return true }
      usleep(10_000)
    }
    return done()
  }

  func close() { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// Server-Sent Events: a subscription over HTTP.
@Suite struct EventStreamTests {
  @Test func changesArePushedAsEventsWithHeartbeats() async throws {
    let root = try WorkspaceRouteTests.repository()
    try await withServer(workspace: root, configure: { $0.eventHeartbeat = .milliseconds(200) }) { server in
      let reader = try EventStreamReader(port: server.port, target: server.conversationPath("events"))
      #expect(reader.wait { !reader.events("gitChanged").isEmpty })
      #expect(reader.text.hasPrefix("HTTP/1.1 200"))
      #expect(reader.text.lowercased().contains("content-type: text/event-stream"))
      let first = reader.events("gitChanged").first
      #expect(first?["changes"] == [["status": "M", "path": "a.txt"]])
      #expect(first?["conversationId"]?.stringValue == server.conversationId)

      try "new\n".write(toFile: root + "/new.txt", atomically: false, encoding: .utf8)
      #expect(
        reader.wait {
          reader.events("filesChanged").contains { $0["changes"] == [["path": "new.txt", "type": "created"]] }
            && reader.events("gitChanged").contains {
              $0["changes"] == [["status": "M", "path": "a.txt"], ["status": "A", "path": "new.txt"]]
            }
        })
      #expect(reader.wait { reader.body.contains(": heartbeat\n\n") })
      #expect(server.dispatcher.subscriptions.count == 1)

      // The client goes: the next heartbeat finds out and the watcher stops.
      reader.close()
      #expect(reader.wait { server.dispatcher.subscriptions.count == 0 })
      #expect(server.dispatcher.subscriptions.watchState(conversationId: server.conversationId) == nil)
    }
  }

  /// A page that stops reading: past the backlog limit its subscription is
  /// dropped, and its watcher stops, instead of the server holding every
  /// notification it does not read.
  @Test func aStreamNobodyReadsIsDropped() async throws {
    let root = try WorkspaceRouteTests.repository()
    try await withServer(workspace: root, bridge: { $0.maxSubscriberBacklogBytes = 16 << 10 }) { server in
      // Connected, asked, never read.
      let fd = try RawHTTP.connect(port: server.port)
      defer { close(fd) }
      let head = Array("GET \(server.conversationPath("events")) HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n".utf8)
      _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      let subscribed = Date().addingTimeInterval(5)
      while server.dispatcher.subscriptions.count == 0 && Date() < subscribed { usleep(10_000) }
      #expect(server.dispatcher.subscriptions.count == 1)
      let long = String(repeating: "n", count: 150)
      var round = 0
      while server.dispatcher.subscriptions.count == 1 && round < 60 {
        try FileManager.default.createDirectory(atPath: root + "/r\(round)", withIntermediateDirectories: true)
        for file in 0..<200 { _ = FileManager.default.createFile(atPath: root + "/r\(round)/\(long)\(file)", contents: nil) }
        round += 1
        usleep(100_000)
      }
      #expect(server.dispatcher.subscriptions.count == 0, "still subscribed after \(round) rounds")
      #expect(server.dispatcher.subscriptions.watchState(conversationId: server.conversationId) == nil)
      // Read now: what was written comes, then the response ends with its last chunk.
      let ending = try await RawHTTP.onThread { () -> Bool in
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var tail: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
          let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
          guard n > 0 else { return false }
          tail = Array((tail + buffer[0..<n]).suffix(16))
          if tail.suffix(5).elementsEqual("0\r\n\r\n".utf8) { return true }
        }
      }
      #expect(ending, "the dropped stream did not end")
    }
  }

  @Test func unknownConversationIs404AndTheKeyIsRequired() async throws {
    try await withServer(configure: { $0.apiKey = "k" }) { server in
      let unknown = try await server.get("/api/conversations/nope/events", headers: [("X-Session-API-Key", "k")])
      #expect(unknown.status == 404)
      let unkeyed = try await server.get(server.conversationPath("events"))
      #expect(unkeyed.status == 401)
      #expect(server.dispatcher.subscriptions.count == 0)
    }
  }

  /// SIGTERM ends every stream with its last chunk, and the process exits
  /// 0 without waiting out the shutdown deadline.
  @Test func shutdownClosesStreamsCleanly() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-events")
    let serve = try ServeProcess(
      binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0", "--conversation-id", "c1"])
    defer { serve.kill() }
    let port = try await serve.port()
    let reader = try EventStreamReader(port: port, target: "/api/conversations/c1/events")
    #expect(reader.wait { reader.text.contains("event: gitChanged") })
    let start = ContinuousClock.now
    serve.signal(SIGTERM)
    #expect(reader.wait { reader.isEnded })
    #expect(reader.text.hasSuffix("0\r\n\r\n"), "no last chunk: \(reader.text.suffix(80))")
    #expect(try await serve.waitForExit(timeout: .seconds(8)) == 0)
    let took = ContinuousClock.now - start
    #expect(took < .seconds(3), "exit took \(took)")
  }
}
