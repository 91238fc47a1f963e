#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Bridge
import Foundation
import HTTPAdapter
import JSONRPC
import Logging
import Synchronization

/// A real `serve` on a free loopback port, over a real workspace directory.
final class TestServer: Sendable {
  let port: Int
  let workspace: String
  let dispatcher: Dispatcher
  private let task: Task<Void, any Error>

  /// The default conversation's id.
  var conversationId: String { dispatcher.conversations.defaultConversation.id }

  private init(port: Int, workspace: String, dispatcher: Dispatcher, task: Task<Void, any Error>) {
    self.port = port
    self.workspace = workspace
    self.dispatcher = dispatcher
    self.task = task
  }

  /// Starts a server over `workspace` (a fresh temporary directory when nil)
  /// and returns once it listens. Tests use `withServer`, which also stops it.
  fileprivate static func start(
    workspace: String? = nil, configure: (inout HTTPServerOptions) -> Void = { _ in },
    bridge: (inout BridgeOptions) -> Void = { _ in }
  ) async throws -> TestServer {
    let (server, directory) = try make(workspace: workspace, configure: configure, bridge: bridge)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let task = Task {
      try await server.runUntilCancelled { port in continuation.yield(port) }
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next(), port > 0 else { throw TestFailure("server did not start") }
    return TestServer(port: port, workspace: directory, dispatcher: server.dispatcher, task: task)
  }

  /// The server `start` runs (and `withRouter` answers in-process), over
  /// `workspace` or a fresh temporary directory, with the directory served.
  static func make(
    workspace: String?, configure: (inout HTTPServerOptions) -> Void, bridge: (inout BridgeOptions) -> Void
  ) throws -> (HTTPServer, String) {
    let directory = try workspace ?? TemporaryDirectory.make("http-ws")
    var options = HTTPServerOptions()
    options.port = 0
    configure(&options)
    var bridgeOptions = BridgeOptions(workspace: directory)
    bridgeOptions.stateDirectory = try TemporaryDirectory.make("http-state")
    bridge(&bridgeOptions)
    var logger = Logger(label: "http-test")
    // Stopping by cancellation makes Hummingbird log its cancelled child
    // channels as errors; they are expected here.
    logger.logLevel = .critical
    let dispatcher = try Dispatcher(options: bridgeOptions, logger: logger)
    return (try HTTPServer(dispatcher: dispatcher, options: options, logger: logger), directory)
  }

  func stop() async {
    task.cancel()
    _ = await task.result
  }

  /// One request over a fresh connection.
  func request(
    _ method: String = "GET", _ target: String, headers: [(String, String)] = [], host: String? = nil,
    body: [UInt8]? = nil
  ) async throws -> HTTPReply {
    try await RawHTTP.request(
      port: port, method: method, target: target, headers: headers, host: host ?? "127.0.0.1:\(port)", body: body)
  }

  func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPReply {
    try await request("GET", target, headers: headers)
  }

  func post(_ target: String, json: String, headers: [(String, String)] = []) async throws -> HTTPReply {
    try await request(
      "POST", target, headers: headers + [("Content-Type", "application/json")], body: Array(json.utf8))
  }

  /// `/api/conversations/<default id>/<path>`
  func conversationPath(_ path: String) -> String { "/api/conversations/\(conversationId)/\(path)" }
}

/// Runs `body` against a server started as `TestServer.start` would, then
/// stops the server and waits until it has stopped, whether `body` returned
/// or threw: no test leaves a server running behind it.
func withServer(
  workspace: String? = nil, configure: (inout HTTPServerOptions) -> Void = { _ in },
  bridge: (inout BridgeOptions) -> Void = { _ in },
  _ body: (TestServer) async throws -> Void
) async throws {
  let server = try await TestServer.start(workspace: workspace, configure: configure, bridge: bridge)
  do {
    try await body(server)
  } catch {
    await server.stop()
    throw error
  }
  await server.stop()
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A parsed HTTP/1.1 response.
struct HTTPReply: Sendable {
  var status: Int
  var headers: [(name: String, value: String)]
  var body: [UInt8]
  /// Whether the body came with `Transfer-Encoding: chunked`.
  var chunked: Bool
  /// The body's chunk sizes as they arrived, when chunked.
  var chunkSizes: [Int]

  func header(_ name: String) -> String? {
    headers.first { $0.name.lowercased() == name.lowercased() }?.value
  }

  var text: String { String(decoding: body, as: UTF8.self) }

  var json: JSONValue? { try? JSONParser.parse(body) }
}

/// A deliberately small HTTP/1.1 client over a blocking socket, run on a
/// thread of its own so the Swift concurrency pool (where the server's
/// handlers run) never waits behind it. It sends exactly the bytes asked
/// for: raw percent-escapes and any Host header.
enum RawHTTP {
  static func request(
    port: Int, method: String, target: String, headers: [(String, String)], host: String?, body: [UInt8]?
  ) async throws -> HTTPReply {
    var head = "\(method) \(target) HTTP/1.1\r\n"
    if let host { head += "Host: \(host)\r\n" }
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    if let body { head += "Content-Length: \(body.count)\r\n" }
    head += "Connection: close\r\n\r\n"
    let bytes = Array(head.utf8) + (body ?? [])
    let raw = try await onThread { try exchange(port: port, bytes: bytes) }
    return try parse(raw)
  }

  /// Runs blocking work on a new thread.
  static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      let thread = Thread {
        continuation.resume(with: Result { try work() })
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
  }

  static func connect(port: Int) throws -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard result == 0 else {
      close(fd)
      throw TestFailure("connect: errno \(errno)")
    }
    return fd
  }

  static func exchange(port: Int, bytes: [UInt8]) throws -> [UInt8] {
    let fd = try connect(port: port)
    defer { close(fd) }
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw TestFailure("send: errno \(errno)") }
      sent += n
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0, errno == EINTR { continue }
      guard n > 0 else { break }
      received.append(contentsOf: buffer[0..<n])
    }
    return received
  }

  static func parse(_ raw: [UInt8]) throws -> HTTPReply {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard let end = raw.firstRange(of: separator) else {
      throw TestFailure("no response head in \(raw.count) bytes")
    }
    let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = lines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
      throw TestFailure("bad status line: \(lines[0])")
    }
    var headers: [(name: String, value: String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.append(
        (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    }
    var body = Array(raw[end.upperBound...])
    var sizes: [Int] = []
    let chunked = headers.contains {
      $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().contains("chunked")
    }
    if chunked { (body, sizes) = try dechunk(body) }
    return HTTPReply(status: status, headers: headers, body: body, chunked: chunked, chunkSizes: sizes)
  }

  static func dechunk(_ data: [UInt8]) throws -> ([UInt8], [Int]) {
    var out: [UInt8] = []
    var sizes: [Int] = []
    var index = 0
    let crlf: [UInt8] = [13, 10]
    while true {
      guard let lineEnd = data[index...].firstRange(of: crlf) else { throw TestFailure("truncated chunk size") }
      let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
        .split(separator: ";")[0]
      guard let size = Int(sizeText, radix: 16) else { throw TestFailure("bad chunk size \(sizeText)") }
      index = lineEnd.upperBound
      if size == 0 { break }
      guard index + size <= data.count else { throw TestFailure("truncated chunk") }
      out.append(contentsOf: data[index..<index + size])
      sizes.append(size)
      index += size + 2
    }
    return (out, sizes)
  }
}

enum TemporaryDirectory {
  static func make(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }
}

/// Where tests leave artefacts a person may want to look at (screenshots):
/// `$AGENT_BRIDGE_TEST_OUTPUT`, else `.build/test-output/` in the package.
enum TestOutput {
  static func directory(_ suite: String) throws -> String {
    let base =
      ProcessInfo.processInfo.environment["AGENT_BRIDGE_TEST_OUTPUT"]
      ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".build/test-output").path
    let path = base + "/" + suite
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }
}

/// Finds a program on PATH.
func which(_ program: String) -> String? {
  for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let candidate = "\(directory)/\(program)"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}
