import Foundation
import Support

/// One HTTP/1.1 POST per connection over POSIX sockets: just what the
/// feedback forwarder needs.
///
/// Why not URLSession: swift-corelibs-foundation's URLSession can abort the
/// process (`TaskRegistry.swift:118: Fatal error: Trying to access a
/// behaviour for a task that in not in the registry`) when tasks fail at once
/// or are cancelled, which is what a forwarder retrying a refused port does
/// all day. A background forwarder must never take the bridge down, so it
/// owns its few sockets instead. Plain `http://` only: the project links no
/// TLS library.
///
/// The socket work blocks, so it runs on `BlockingWorkExecutor`, never on the
/// cooperative pool. Every wait is a `poll` of at most `pollSlice`, so a
/// cancelled task stops within that, and one deadline bounds the whole
/// exchange (connect, send, status line).
public enum HTTPPost {
  /// Why a POST produced no status code.
  public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// The deadline passed (rather than the peer refusing or breaking).
    public var timedOut: Bool
    public init(_ reason: String, timedOut: Bool = false) {
      self.reason = reason
      self.timedOut = timedOut
    }
    public var description: String { reason }
  }

  /// Where to POST: a parsed `http://host[:port][/path][?query]` URL.
  public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// A name or an address literal (IPv6 without its brackets).
    public let host: String
    public let port: UInt16
    /// Path and query, as sent on the request line.
    public let target: String
    let original: String

    public static let noTLS = "this build has no TLS; put a local forwarding proxy in front for https"

    public init(url: String) throws(Failure) {
      // Spaces or control characters would let a URL inject header lines.
      guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
        throw Failure("got '\(url)', which contains spaces or control characters")
      }
      guard let separator = url.range(of: "://") else { throw Failure("got '\(url)'") }
      let scheme = url[..<separator.lowerBound].lowercased()
      if scheme == "https" { throw Failure(Self.noTLS) }
      guard scheme == "http" else { throw Failure("got '\(url)'") }
      let rest = url[separator.upperBound...].prefix { $0 != "#" }
      let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
      let authority = rest[..<authorityEnd]
      let target = String(rest[authorityEnd...])
      self.target = target.isEmpty ? "/" : target.first == "?" ? "/" + target : target
      guard !authority.contains("@") else { throw Failure("user info is not supported, got '\(url)'") }

      let host: Substring
      let portText: Substring?
      if authority.first == "[" {
        guard let close = authority.firstIndex(of: "]") else { throw Failure("unclosed '[' in '\(url)'") }
        host = authority[authority.index(after: authority.startIndex)..<close]
        let after = authority[authority.index(after: close)...]
        guard after.isEmpty || after.first == ":" else { throw Failure("junk after ']' in '\(url)'") }
        portText = after.isEmpty ? nil : after.dropFirst()
      } else if let colon = authority.firstIndex(of: ":") {
        host = authority[..<colon]
        portText = authority[authority.index(after: colon)...]
      } else {
        host = authority
        portText = nil
      }
      guard !host.isEmpty else { throw Failure("no host in '\(url)'") }
      self.host = String(host)
      if let portText, !portText.isEmpty {
        guard portText.allSatisfy(\.isASCII), let port = UInt16(portText), port > 0 else {
          throw Failure("bad port in '\(url)'")
        }
        self.port = port
      } else {
        port = 80
      }
      original = url
    }

    public var description: String { original }

    /// `host:port` for messages, with brackets around IPv6.
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `Host:` as RFC 9110 spells it: brackets around IPv6, port unless 80.
    var hostHeader: String {
      let name = host.contains(":") ? "[\(host)]" : host
      return port == 80 ? name : "\(name):\(port)"
    }

    func request(body: [UInt8], contentType: String) -> [UInt8] {
      let head =
        "POST \(target) HTTP/1.1\r\n"
        + "Host: \(hostHeader)\r\n"
        + "User-Agent: \(BridgeVersion.name)/\(BridgeVersion.version)\r\n"
        + "Content-Type: \(contentType)\r\n"
        + "Content-Length: \(body.count)\r\n"
        + "Connection: close\r\n\r\n"
      return Array(head.utf8) + body
    }
  }

  /// Longest wait between cancellation checks.
  static let pollSlice: Duration = .milliseconds(50)
  /// A response head longer than this is refused.
  static let maxHead = 16 * 1024
  /// After the status line, at most this much body is read and dropped.
  static let maxDrain = 64 * 1024
  /// After the status line, at most this long is spent draining the body.
  static let drainTime: Duration = .seconds(1)

  /// POSTs `body` and returns the response's status code.
  ///
  /// Throws `Failure` (with a reason fit for a log line) when there is no
  /// status code, or `CancellationError` when the task was cancelled.
  public static func post(
    _ body: [UInt8], to endpoint: Endpoint, contentType: String = "application/json", timeout: Duration
  ) async throws -> Int {
    let request = endpoint.request(body: body, contentType: contentType)
    let deadline = ContinuousClock.now + timeout
    return try await withTaskExecutorPreference(BlockingWorkExecutor.shared) {
      try exchange(request, with: endpoint, until: deadline)
    }
  }

  /// The blocking part: connect, send, read the status.
  static func exchange(_ request: [UInt8], with endpoint: Endpoint, until deadline: ContinuousClock.Instant) throws
    -> Int
  {
    try Task.checkCancellation()
    let fd = try openConnection(to: endpoint, until: deadline)
    defer { close(fd) }
    try sendAll(request, on: fd, until: deadline)
    return try readStatus(from: fd, until: deadline)
  }

  // MARK: Connecting

  static func openConnection(to endpoint: Endpoint, until deadline: ContinuousClock.Instant) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if canImport(Glibc)
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
    hints.ai_socktype = SOCK_STREAM
    #endif
    hints.ai_protocol = Int32(IPPROTO_TCP)
    // getaddrinfo cannot be bounded or cancelled; it blocks this (blocking
    // work) thread only. Address literals resolve without a lookup.
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
    guard status == 0 else {
      throw Failure("cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(list) }
    let name = endpoint.address
    var lastError = Failure("cannot connect to \(name): no address")
    var next = list
    // Each address in the resolver's order, until one connects.
    while let info = next?.pointee {
      next = info.ai_next
      let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
      guard fd >= 0 else {
        lastError = Failure("cannot connect to \(name): socket: \(errorText())")
        continue
      }
      do {
        try prepare(fd)
        if connect(fd, info.ai_addr, info.ai_addrlen) != 0 {
          guard errno == EINPROGRESS || errno == EINTR else { throw Failure(errorText()) }
          try wait(fd, for: Int16(POLLOUT), until: deadline, "connecting to \(name)")
          var error: Int32 = 0
          var length = socklen_t(MemoryLayout<Int32>.size)
          guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { throw Failure(errorText()) }
          guard error == 0 else { throw Failure(String(cString: strerror(error))) }
        }
        return fd
      } catch let failure as Failure where !failure.timedOut {
        close(fd)
        lastError = Failure("cannot connect to \(name): \(failure.reason)")
      } catch {
        // Timed out or cancelled: the deadline covers every address.
        close(fd)
        throw error
      }
    }
    throw lastError
  }

  /// Non-blocking (every wait is a bounded poll), close-on-exec, and no
  /// SIGPIPE on Darwin (Linux passes MSG_NOSIGNAL to each send).
  static func prepare(_ socket: Int32) throws(Failure) {
    let flags = fcntl(socket, F_GETFL)
    guard flags >= 0, fcntl(socket, F_SETFL, flags | O_NONBLOCK) == 0, fcntl(socket, F_SETFD, FD_CLOEXEC) == 0 else {
      throw Failure(errorText())
    }
    #if canImport(Darwin)
    var on: Int32 = 1
    setsockopt(socket, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
    #endif
  }

  // MARK: Sending and receiving

  static func sendAll(_ bytes: [UInt8], on socket: Int32, until deadline: ContinuousClock.Instant) throws {
    #if os(Linux)
    let flags = Int32(MSG_NOSIGNAL)
    #else
    let flags: Int32 = 0
    #endif
    var offset = 0
    while offset < bytes.count {
      let sent = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + offset, $0.count - offset, flags) }
      if sent > 0 {
        offset += sent
      } else if errno == EAGAIN || errno == EWOULDBLOCK {
        try wait(socket, for: Int16(POLLOUT), until: deadline, "sending the request")
      } else if errno != EINTR {
        throw Failure("sending the request: \(errorText())")
      }
    }
  }

  /// Reads up to the end of the final (non-1xx) response head and returns its
  /// status; then drains a little of the body so the server sees an orderly
  /// close rather than a reset.
  static func readStatus(from socket: Int32, until deadline: ContinuousClock.Instant) throws -> Int {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      guard let headEnd = find(crlfcrlf, in: buffer) else {
        guard buffer.count <= maxHead else { throw Failure("the response head exceeds \(maxHead) bytes") }
        guard try receive(into: &buffer, chunk: &chunk, from: socket, until: deadline, "waiting for the response")
        else {
          throw Failure(
            buffer.isEmpty
              ? "the server closed the connection without answering" : "the server closed the connection mid-response")
        }
        continue
      }
      let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
      buffer.removeSubrange(..<(headEnd + crlfcrlf.count))
      let (status, contentLength) = try parse(head)
      // 1xx answers are interim; the real one follows.
      if status < 200 { continue }
      let drainDeadline = min(deadline, .now + drainTime)
      let wanted = min(contentLength ?? maxDrain, maxDrain)
      var drained = buffer.count
      buffer.removeAll(keepingCapacity: true)
      // The status is what counts: a body that stalls or breaks changes nothing.
      while drained < wanted,
        (try? receive(into: &buffer, chunk: &chunk, from: socket, until: drainDeadline, "draining")) == true
      {
        drained += buffer.count
        buffer.removeAll(keepingCapacity: true)
      }
      return status
    }
  }

  /// Appends what arrives to `buffer`: false at end of stream.
  static func receive(
    into buffer: inout [UInt8], chunk: inout [UInt8], from socket: Int32, until deadline: ContinuousClock.Instant,
    _ phase: String
  ) throws -> Bool {
    while true {
      let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
      if count > 0 {
        buffer.append(contentsOf: chunk[..<count])
        return true
      }
      if count == 0 { return false }
      if errno == EAGAIN || errno == EWOULDBLOCK {
        try wait(socket, for: Int16(POLLIN), until: deadline, phase)
      } else if errno != EINTR {
        throw Failure("\(phase): \(errorText())")
      }
    }
  }

  /// `HTTP/1.x SSS reason` and headers -> status and Content-Length.
  static func parse(_ head: String) throws(Failure) -> (status: Int, contentLength: Int?) {
    let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
    let statusLine = lines.first ?? ""
    let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, parts[1].allSatisfy(\.isASCII),
      let status = Int(parts[1]), (100...599).contains(status)
    else {
      throw Failure("not an HTTP/1.x status line: '\(statusLine.prefix(80))'")
    }
    var contentLength: Int?
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" else { continue }
      contentLength = Int(line[line.index(after: colon)...].trimmingPrefix(" ").prefix { $0 != " " })
    }
    return (status, contentLength)
  }

  // MARK: Waiting

  /// Waits until `socket` is ready for `events`, in slices of `pollSlice`
  /// so cancellation is noticed; throws at `deadline`. Errors and hang-ups
  /// count as ready: the call that follows reports them.
  static func wait(_ socket: Int32, for events: Int16, until deadline: ContinuousClock.Instant, _ phase: String) throws {
    while true {
      try Task.checkCancellation()
      let left = deadline - .now
      guard left > .zero else { throw Failure("timed out \(phase)", timedOut: true) }
      let slice = min(left, pollSlice).components
      let milliseconds = Int32(slice.seconds * 1000 + slice.attoseconds / 1_000_000_000_000_000)
      var descriptor = pollfd(fd: socket, events: events, revents: 0)
      let ready = poll(&descriptor, 1, max(milliseconds, 1))
      if ready > 0 { return }
      if ready < 0 && errno != EINTR { throw Failure("\(phase): poll: \(errorText())") }
    }
  }

  static let crlfcrlf: [UInt8] = Array("\r\n\r\n".utf8)

  static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
      return start
    }
    return nil
  }

  static func errorText() -> String { String(cString: strerror(errno)) }
}
