#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// CONTRACT section 8, promise 3: a client that closes its connection
/// stops the work it asked for, and keep-alive connections are unaffected.
@Suite(.serialized) struct ClientDepartureTests {
  /// A workspace whose zip takes seconds of CPU: random bytes do not deflate.
  static func slowWorkspace() throws -> String {
    let workspace = try TemporaryDirectory.make("departure")
    let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    defer { try? random.close() }
    _ = FileManager.default.createFile(atPath: workspace + "/noise.bin", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: workspace + "/noise.bin"))
    defer { try? out.close() }
    for _ in 0..<96 { try out.write(contentsOf: random.readData(ofLength: 1 << 20)) }
    return workspace
  }

  @Test func closingTheConnectionCancelsItsRequest() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try Self.slowWorkspace()
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    let serve = try ServeProcess(
      binary: binary,
      arguments: ["serve", "--workspace", workspace, "--port", "0", "--max-inline-bytes", "300000000"])
    defer { serve.kill() }
    let port = try await serve.port()

    let body = Array(#"{"jsonrpc":"2.0","id":1,"method":"zipDirectory","params":{}}"#.utf8)
    let head =
      "POST /api/jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      + "Content-Length: \(body.count)\r\n\r\n"
    let fd = try RawHTTP.connect(port: port)
    let bytes = Array(head.utf8) + body
    #expect(bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count)
    // Let the zip get going, then hang up without reading the answer.
    try await Task.sleep(for: .milliseconds(700))
    let before = try serve.cpuSeconds()
    close(fd)
    try await Task.sleep(for: .milliseconds(300))
    let settled = try serve.cpuSeconds()
    try await Task.sleep(for: .milliseconds(1500))
    let after = try serve.cpuSeconds()
    // Working, it would burn about a core; stopped, it idles.
    #expect(settled - before > 0, "the zip was not running when the client left")
    #expect(after - settled < 0.25, "the server kept working for a client that left: \(after - settled) s of CPU")

    let health = try await RawHTTP.request(port: port, method: "GET", target: "/health", headers: [], host: "127.0.0.1", body: nil)
    #expect(health.status == 200)
  }

  /// Two requests on one kept-alive connection are both answered: watching
  /// for the client leaving must not end connections.
  @Test func keepAliveConnectionsServeManyRequests() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("departure-keepalive")
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    try Data("x\n".utf8).write(to: URL(fileURLWithPath: workspace + "/a.txt"))
    let serve = try ServeProcess(
      binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0", "--conversation-id", "c"])
    defer { serve.kill() }
    let port = try await serve.port()
    let request = "GET /api/conversations/c/select-file?file=a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    let replies = try await RawHTTP.onThread { () throws -> String in
      let fd = try RawHTTP.connect(port: port)
      defer { close(fd) }
      var text = ""
      var buffer = [UInt8](repeating: 0, count: 65536)
      for _ in 0..<3 {
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { break }
        text += String(decoding: buffer[0..<count], as: UTF8.self)
      }
      return text
    }
    #expect(replies.components(separatedBy: "HTTP/1.1 200").count - 1 == 3, "\(replies)")
  }
}
