#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSONRPC

/// Why a test's read from the server failed.
public struct WireError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A JSON-RPC client over raw file descriptors, for tests.
///
/// It parses the server's output with its own strict reader (not the
/// `FrameParser` under test): a reply is either exactly
/// `Content-Length: N\r\n\r\n` + N bytes, or one line ending in `\n`. Any
/// other byte on the stream is a failure, which is how tests prove that
/// stdout carries nothing but protocol bytes. Every read has a deadline, so a
/// missing reply fails the test instead of hanging it.
public final class WireClient: @unchecked Sendable {
  public let input: Int32
  public let output: Int32
  private var buffer: [UInt8] = []
  private var sawEOF = false
  public var defaultTimeout: Duration

  /// - Parameters:
  ///   - input: where the client writes (the server's stdin).
  ///   - output: where the client reads (the server's stdout).
  public init(writingTo input: Int32, readingFrom output: Int32, timeout: Duration = .seconds(20)) {
    // A server that exits early must fail the test, not kill the runner.
    signal(SIGPIPE, SIG_IGN)
    self.input = input
    self.output = output
    self.defaultTimeout = timeout
  }

  // MARK: Sending

  /// Writes a JSON text in the given framing.
  public func send(_ json: String, framing: Framing) {
    sendRaw(Self.frame(Array(json.utf8), framing: framing))
  }

  public func send(_ json: JSONValue, framing: Framing) {
    sendRaw(Self.frame(JSONWriter.encode(json), framing: framing))
  }

  public static func frame(_ body: [UInt8], framing: Framing) -> [UInt8] {
    switch framing {
    case .lsp: Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
    case .ndjson: body + [0x0A]
    }
  }

  public func sendRaw(_ text: String) { sendRaw(Array(text.utf8)) }

  public func sendRaw(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(input, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return  // The server is gone; the reads will say so.
        }
        offset += n
      }
    }
  }

  private var inputClosed = false

  /// Closes the server's stdin: end of input. Idempotent.
  public func closeInput() {
    if inputClosed { return }
    inputClosed = true
    close(input)
  }

  // MARK: Receiving

  /// The next message and its framing, or nil at end of output.
  public func next(timeout: Duration? = nil) async throws -> (message: JSONValue, framing: Framing)? {
    let deadline = ContinuousClock.now + (timeout ?? defaultTimeout)
    while true {
      if let frame = try parseBuffered() { return frame }
      if sawEOF {
        if buffer.isEmpty { return nil }
        throw WireError("output ended inside a message: \(String(decoding: buffer.prefix(200), as: UTF8.self))")
      }
      try await fill(until: deadline)
    }
  }

  /// The next message; fails at end of output.
  public func expectMessage(timeout: Duration? = nil) async throws -> JSONValue {
    guard let (message, _) = try await next(timeout: timeout) else { throw WireError("output ended; expected a message") }
    return message
  }

  /// Reads until every id has its reply; returns them by id. Replies
  /// without an id are collected under `others`.
  public func replies(for ids: [JSONValue], timeout: Duration? = nil) async throws -> (
    byId: [String: JSONValue], others: [JSONValue]
  ) {
    var byId: [String: JSONValue] = [:]
    var others: [JSONValue] = []
    let wanted = Set(ids.map(\.description))
    while !wanted.isSubset(of: Set(byId.keys)) {
      let message = try await expectMessage(timeout: timeout)
      if let id = message["id"], !id.isNull {
        if byId[id.description] != nil { throw WireError("two replies for id \(id)") }
        byId[id.description] = message
      } else {
        others.append(message)
      }
    }
    return (byId, others)
  }

  /// Everything until end of output.
  public func drain(timeout: Duration? = nil) async throws -> [JSONValue] {
    var all: [JSONValue] = []
    while let (message, _) = try await next(timeout: timeout) { all.append(message) }
    return all
  }

  /// Every byte until end of output, unparsed (for `call`, `--version`).
  public func readToEnd(timeout: Duration? = nil) async throws -> [UInt8] {
    let deadline = ContinuousClock.now + (timeout ?? defaultTimeout)
    while !sawEOF { try await fill(until: deadline) }
    defer { buffer = [] }
    return buffer
  }

  /// True when nothing (not even end of output) arrives within `window`.
  public func isQuiet(for window: Duration) async throws -> Bool {
    let deadline = ContinuousClock.now + window
    while buffer.isEmpty, !sawEOF, ContinuousClock.now < deadline {
      do { try await fill(until: deadline) } catch is TimeoutError { break }
    }
    return buffer.isEmpty && !sawEOF
  }

  struct TimeoutError: Error {}

  /// Waits for output without holding a thread of the cooperative pool: the
  /// code under test runs its requests there, and Swift Testing runs test
  /// bodies there too, so a blocking wait could starve the server.
  private func fill(until deadline: ContinuousClock.Instant) async throws {
    while true {
      var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, 0)
      if ready > 0 { break }
      if ready < 0, errno != EINTR { throw WireError("poll failed: errno \(errno)") }
      if ContinuousClock.now >= deadline { throw TimeoutError() }
      try await Task.sleep(for: .microseconds(500))
    }
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
    if n < 0 {
      if errno == EINTR || errno == EAGAIN { return }
      throw WireError("read failed: errno \(errno)")
    }
    if n == 0 {
      sawEOF = true
      return
    }
    buffer.append(contentsOf: chunk[0..<n])
  }

  private func parseBuffered() throws -> (message: JSONValue, framing: Framing)? {
    guard let first = buffer.first else { return nil }
    if first == UInt8(ascii: "C") {
      let prefix = Array("Content-Length: ".utf8)
      if buffer.count < prefix.count {
        guard Array(buffer) == Array(prefix[0..<buffer.count]) else { throw garbage() }
        return nil
      }
      guard Array(buffer[0..<prefix.count]) == prefix else { throw garbage() }
      var i = prefix.count
      var length = 0
      while i < buffer.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buffer[i]) {
        length = length * 10 + Int(buffer[i] - UInt8(ascii: "0"))
        i += 1
      }
      guard buffer.count >= i + 4 else { return nil }
      guard i > prefix.count, Array(buffer[i..<(i + 4)]) == Array("\r\n\r\n".utf8) else { throw garbage() }
      let bodyStart = i + 4
      guard buffer.count >= bodyStart + length else { return nil }
      let body = Array(buffer[bodyStart..<(bodyStart + length)])
      buffer.removeFirst(bodyStart + length)
      return (try decode(body), .lsp)
    }
    guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { throw garbage() }
    guard let newline = buffer.firstIndex(of: 0x0A) else { return nil }
    let body = Array(buffer[0..<newline])
    buffer.removeFirst(newline + 1)
    return (try decode(body), .ndjson)
  }

  private func decode(_ body: [UInt8]) throws -> JSONValue {
    do {
      return try JSONParser.parse(body)
    } catch {
      throw WireError("server wrote invalid JSON (\(error)): \(String(decoding: body.prefix(200), as: UTF8.self))")
    }
  }

  private func garbage() -> WireError {
    WireError("non-protocol bytes on the output: \(String(decoding: buffer.prefix(120), as: UTF8.self))")
  }
}

/// A pipe whose two ends are plain descriptors, close-on-exec.
public struct RawPipe {
  public let readEnd: Int32
  public let writeEnd: Int32

  public init() {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0, "pipe failed")
    readEnd = fds[0]
    writeEnd = fds[1]
    _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
  }
}

extension JSONValue {
  /// Parses test literals; traps on a typo, which is a bug in the test.
  public static func json(_ text: String) -> JSONValue {
    do { return try JSONParser.parse(text) } catch { fatalError("bad JSON literal in a test: \(error): \(text)") }
  }

  /// Whether every member of `expected` is in `self`, recursively; arrays
  /// must have the same length and match element by element.
  public func contains(_ expected: JSONValue) -> Bool {
    switch (self, expected) {
    case (.object(let actual), .object(let wanted)):
      for (key, value) in wanted {
        guard let member = actual[key], member.contains(value) else { return false }
      }
      return true
    case (.array(let actual), .array(let wanted)):
      return actual.count == wanted.count && zip(actual, wanted).allSatisfy { $0.contains($1) }
    case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
      return self.doubleValue == expected.doubleValue
    default:
      return self == expected
    }
  }
}
