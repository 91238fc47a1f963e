#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JSONRPC
import Testing

@testable import HTTPAdapter

/// CONTRACT section 8, promise 4: a page from another origin cannot drive
/// the server, POST bodies must be JSON, incomplete requests time out, and
/// `--host localhost` answers its loopback forms. Against a real server.
@Suite struct ForeignPageTests {
  static let feedback = #"{"polarity":"negative","feedback":"forged","email":"x@evil.example"}"#
  static let refused = #"{"detail":"Cross-origin request refused"}"#

  static func feedbackLines(_ server: TestServer) -> Int {
    let state = server.dispatcher.options.stateDirectory!
    guard let text = try? String(contentsOfFile: state + "/feedback.jsonl", encoding: .utf8) else { return 0 }
    return text.split(separator: "\n").count
  }

  /// What a cross-site `<form>` or `fetch(..., {mode: "no-cors"})` sends:
  /// a simple request, no preflight, `text/plain`.
  @Test func crossSiteFormPostStoresNothing() async throws {
    try await withServer { server in
      let rpc = #"{"jsonrpc":"2.0","id":1,"method":"submitFeedback","params":{"polarity":"negative"}}"#
      let browsers: [[(String, String)]] = [
        [("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site")],
        [("Origin", "http://evil.example")],
        [("Origin", "null"), ("Sec-Fetch-Site", "cross-site")],
        [("Origin", "http://localhost:8080"), ("Sec-Fetch-Site", "same-site")],
        [("Sec-Fetch-Site", "cross-site")],
      ]
      for browser in browsers {
        for (target, body) in [(server.conversationPath("submit-feedback"), Self.feedback), ("/api/jsonrpc", rpc)] {
          for type in ["text/plain", "application/json"] {
            let reply = try await server.request(
              "POST", target, headers: browser + [("Content-Type", type)], body: Array(body.utf8))
            #expect(reply.status == 403, "\(browser) \(target) \(type)")
            #expect(reply.text == Self.refused)
            #expect(reply.header("Cache-Control") == "no-store")
          }
        }
      }
      #expect(Self.feedbackLines(server) == 0)
    }
  }

  /// `<img src=".../zip-directory">` on another site: a GET with no Origin.
  @Test func crossSiteSubresourceGetsStartNoWork() async throws {
    try await withServer { server in
      let image = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")]
      let paths = [
        server.conversationPath("zip-directory"), server.conversationPath("list-files"), "/health", "/docs",
        "/openapi.json", "/server_info",
      ]
      for site in ["cross-site", "same-site", "CROSS-SITE"] {
        for path in paths {
          let reply = try await server.get(path, headers: image + [("Sec-Fetch-Site", site)])
          #expect(reply.status == 403, "\(site) \(path)")
          #expect(reply.text == Self.refused)
        }
      }
      // An iframe of the docs page on another site (clickjacking) too.
      let framed = try await server.get(
        "/docs", headers: [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "iframe")])
      #expect(framed.status == 403)
      // Following a link to a page that does work is refused as well.
      let link = [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")]
      #expect(try await server.get(server.conversationPath("zip-directory"), headers: link).status == 403)
      // A person following a link to the docs page or the API document gets it.
      #expect(try await server.get("/docs", headers: link).status == 200)
      #expect(try await server.get("/openapi.json", headers: link).status == 200)
    }
  }

  @Test func ownOriginToolsAndAllowedOriginPass() async throws {
    try await withServer { server in
      let port = server.port
      let health = #"{"jsonrpc":"2.0","id":1,"method":"health"}"#
      let same: [(host: String, headers: [(String, String)])] = [
        ("127.0.0.1:\(port)", []),
        ("127.0.0.1:\(port)", [("Sec-Fetch-Site", "same-origin"), ("Origin", "http://127.0.0.1:\(port)")]),
        ("localhost:\(port)", [("Sec-Fetch-Site", "same-origin"), ("Origin", "http://localhost:\(port)")]),
        ("LocalHost:\(port)", [("Origin", "http://localhost:\(port)")]),
        ("127.0.0.1:\(port)", [("Sec-Fetch-Site", "none")]),
      ]
      for (host, headers) in same {
        let reply = try await server.request(
          "POST", "/api/jsonrpc", headers: headers + [("Content-Type", "application/json")], host: host,
          body: Array(health.utf8))
        #expect(reply.status == 200, "\(host) \(headers)")
        #expect(reply.json?["result"] == "OK")
      }
      let foreign: [(host: String, origin: String)] = [
        ("127.0.0.1:\(port)", "http://127.0.0.1:\(port + 1)"),
        ("127.0.0.1:\(port)", "http://localhost:\(port)"),
        ("127.0.0.1:\(port)", "https://127.0.0.1:\(port)"),
        ("127.0.0.1:\(port)", "http://127.0.0.1"),
        ("localhost:\(port)", "http://localhost:\(port).evil.example"),
      ]
      for (host, origin) in foreign {
        let reply = try await server.request("GET", "/health", headers: [("Origin", origin)], host: host)
        #expect(reply.status == 403, "\(host) \(origin)")
      }

      try await withServer(configure: { $0.allowOrigin = "http://LOCALHOST:5173/" }) { allowing in
        let call = try await allowing.post(
          "/api/jsonrpc", json: health, headers: [("Origin", "http://localhost:5173"), ("Sec-Fetch-Site", "same-site")])
        #expect(call.status == 200)
        #expect(call.header("Access-Control-Allow-Origin") != nil)
        let preflight = try await allowing.request(
          "OPTIONS", "/api/jsonrpc", headers: [("Origin", "http://localhost:5174"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 403)
      }
    }
  }

  @Test func allowOriginMustBeAnOrigin() throws {
    for bad in ["*", "localhost:5173", "http://localhost:5173/app", "null", "http://"] {
      var options = HTTPServerOptions()
      options.allowOrigin = bad
      #expect(throws: HTTPServerError.self, "\(bad)") { try options.validate() }
    }
    var options = HTTPServerOptions()
    options.allowOrigin = "https://dev.example.com:8443"
    try options.validate()
  }

  @Test func postNeedsAJSONContentType() async throws {
    try await withServer { server in
      let health = Array(#"{"jsonrpc":"2.0","id":1,"method":"health"}"#.utf8)
      let feedback = server.conversationPath("submit-feedback")
      for type in [
        nil, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data",
        "application/jsonp", "application/json-patch+json", "",
      ] as [String?] {
        let headers = type.map { [("Content-Type", $0)] } ?? []
        for (target, body) in [("/api/jsonrpc", health), (feedback, Array(Self.feedback.utf8))] {
          let reply = try await server.request("POST", target, headers: headers, body: body)
          #expect(reply.status == 415, "\(type ?? "no type") \(target)")
          #expect(reply.json?["detail"]?.stringValue?.contains("application/json") == true)
        }
      }
      #expect(Self.feedbackLines(server) == 0)
      for type in ["application/json", "application/json; charset=utf-8", "Application/JSON ;charset=UTF-8"] {
        let reply = try await server.request("POST", "/api/jsonrpc", headers: [("Content-Type", type)], body: health)
        #expect(reply.status == 200, "\(type)")
      }
      let stored = try await server.request(
        "POST", feedback, headers: [("Content-Type", "application/json")], body: Array(Self.feedback.utf8))
      #expect(stored.status == 200)
      #expect(Self.feedbackLines(server) == 1)
    }
  }

  // MARK: --host localhost

  @Test func localhostBindAnswersItsLoopbackForms() async throws {
    var options = HTTPServerOptions()
    options.host = "localhost"
    let policy = HostPolicy(options: options)
    for host in ["localhost", "localhost:3000", "127.0.0.1", "127.0.0.1:3000", "[::1]", "[::1]:3000"] {
      #expect(policy.allows(host), "\(host)")
    }
    for host in ["127.0.0.2", "evil.example", "[::2]", "0.0.0.0"] { #expect(!policy.allows(host), "\(host)") }

    try await withServer(configure: { $0.host = "localhost" }) { server in
      for host in ["localhost:\(server.port)", "127.0.0.1:\(server.port)", "[::1]:\(server.port)", "127.0.0.1"] {
        let reply = try Self.loopbackRequest(port: server.port, host: host)
        #expect(reply.status == 200, "Host: \(host)")
      }
      #expect(try Self.loopbackRequest(port: server.port, host: "evil.example").status == 421)
    }
  }

  /// `localhost` may be bound on either family: tries 127.0.0.1, then ::1.
  static func loopbackRequest(port: Int, host: String) throws -> HTTPReply {
    let fd = try connectLoopback(port: port)
    defer { close(fd) }
    try sendAll(fd, Array("GET /health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8))
    return try RawHTTP.parse(readToEnd(fd))
  }

  static func connectLoopback(port: Int) throws -> Int32 {
    if let fd = try? RawHTTP.connect(port: port) { return fd }
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = in_port_t(UInt16(port).bigEndian)
    address.sin6_addr = in6addr_loopback
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
      }
    }
    guard result == 0 else {
      close(fd)
      throw TestFailure("connect to 127.0.0.1 and ::1 port \(port) failed: errno \(errno)")
    }
    return fd
  }

  // MARK: --request-timeout

  /// 300 connections that sent half a request head and stalled: a
  /// well-formed request is answered at once, and each stalled one is
  /// closed once the timeout passes.
  @Test func halfOpenConnectionsAreClosedAndDelayNothing() async throws {
    try await withServer(configure: { $0.requestTimeout = .seconds(2) }) { server in
      let port = server.port
      let stalled = try await RawHTTP.onThread {
        try (0..<300).map { _ in
          let fd = try RawHTTP.connect(port: port)
          try sendAll(fd, Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: aaaa".utf8))
          return fd
        }
      }
      defer { for fd in stalled { close(fd) } }
      let clock = ContinuousClock()
      let started = clock.now
      let reply = try await server.get("/health")
      let took = clock.now - started
      #expect(reply.status == 200)
      #expect(took < .milliseconds(500), "a well-formed request took \(took) behind 300 stalled connections")
      // None is closed early...
      #expect(try await RawHTTP.onThread { stillOpen(stalled, forMilliseconds: 0) } == 300)
      // ...and every one is closed within the timeout plus a margin.
      let open = try await RawHTTP.onThread { stillOpen(stalled, forMilliseconds: 4500) }
      #expect(open == 0, "\(open) of 300 stalled connections still open after the timeout")
    }
  }

  /// A body sent a byte at a time does not buy more time: the request as a
  /// whole must arrive within the timeout.
  @Test func tricklingBodyIsCutAtTheTimeout() async throws {
    try await withServer(configure: { $0.requestTimeout = .seconds(1) }) { server in
      let port = server.port
      let target = server.conversationPath("submit-feedback")
      let (sent, closedAfter) = try await RawHTTP.onThread { () throws -> (Int, Duration) in
        let fd = try RawHTTP.connect(port: port)
        defer { close(fd) }
        let clock = ContinuousClock()
        let started = clock.now
        try sendAll(
          fd,
          Array(
            "POST \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
              .utf8))
        var sent = 0
        while sent < 1000, clock.now - started < .seconds(10) {
          if isClosed(fd, waitingMilliseconds: 200) { break }
          let byte: [UInt8] = [0x20]
          guard (byte.withUnsafeBytes { send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }) == 1 else { break }
          sent += 1
        }
        return (sent, clock.now - started)
      }
      #expect(sent < 1000)
      #expect(closedAfter < .seconds(3), "closed after \(closedAfter)")
      #expect(Self.feedbackLines(server) == 0)
    }
  }

  /// The clock stops once a request is read: a download slower than the
  /// timeout (here a client that pauses reading) arrives whole.
  @Test func slowDownloadIsNotCut() async throws {
    let workspace = try TemporaryDirectory.make("timeout-zip")
    _ = FileManager.default.createFile(atPath: workspace + "/big.bin", contents: nil)
    try FileHandle(forWritingTo: URL(fileURLWithPath: workspace + "/big.bin")).truncate(atOffset: 32 << 20)
    try await withServer(workspace: workspace, configure: { $0.requestTimeout = .milliseconds(500) }) { server in
      let port = server.port
      let target = server.conversationPath("zip-directory?compression=store")
      let raw = try await RawHTTP.onThread { () throws -> [UInt8] in
        let fd = try RawHTTP.connect(port: port)
        defer { close(fd) }
        try sendAll(fd, Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < 1 << 20 {
          let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
          guard n > 0 else { break }
          received += buffer[0..<n]
        }
        usleep(1_500_000)
        return received + (try readToEnd(fd))
      }
      let reply = try RawHTTP.parse(raw)
      #expect(reply.status == 200)
      #expect(reply.body.count > 32 << 20)
      // The end of central directory record closes a whole archive.
      #expect(reply.body.suffix(22).prefix(4) == [0x50, 0x4B, 0x05, 0x06])
    }
  }

  /// The command line's `--request-timeout`, in seconds.
  @Test func serveTakesARequestTimeout() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-timeout")
    for bad in ["0", "-1", "nan", "soon"] {
      let (status, output) = try runProcess(
        binary, ["serve", "--workspace", workspace, "--port", "0", "--request-timeout", bad])
      #expect(status != 0, "\(bad)")
      #expect(output.contains("--request-timeout") || output.contains("request-timeout"), "\(output)")
    }
    let serve = try ServeProcess(
      binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0", "--request-timeout", "0.5"])
    defer { serve.kill() }
    let port = try await serve.port()
    let closed = try await RawHTTP.onThread { () throws -> Bool in
      let fd = try RawHTTP.connect(port: port)
      defer { close(fd) }
      try sendAll(fd, Array("GET /health HTTP/1.1\r\nHost: 127".utf8))
      return isClosed(fd, waitingMilliseconds: 2500)
    }
    #expect(closed)
  }

  /// An idle keep-alive connection is closed after the timeout too.
  @Test func idleKeepAliveConnectionIsClosed() async throws {
    try await withServer(configure: { $0.requestTimeout = .seconds(1) }) { server in
      let port = server.port
      let closed = try await RawHTTP.onThread { () throws -> Bool in
        let fd = try RawHTTP.connect(port: port)
        defer { close(fd) }
        try sendAll(fd, Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        var buffer = [UInt8](repeating: 0, count: 4096)
        guard (buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }) > 0 else { return false }
        return isClosed(fd, waitingMilliseconds: 3000)
      }
      #expect(closed)
    }
  }
}

func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
  var sent = 0
  while sent < bytes.count {
    let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    guard n > 0 else { throw TestFailure("send: errno \(errno)") }
    sent += n
  }
}

func readToEnd(_ fd: Int32) throws -> [UInt8] {
  var received: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n < 0, errno == EINTR { continue }
    guard n > 0 else { break }
    received += buffer[0..<n]
  }
  return received
}

/// How many of `fds` the peer has not closed once the wait is over (or
/// once all are closed, if sooner).
func stillOpen(_ fds: [Int32], forMilliseconds wait: Int) -> Int {
  let deadline = ContinuousClock.now + .milliseconds(wait)
  var open = Set(fds)
  repeat {
    for fd in open where isClosed(fd, waitingMilliseconds: 0) { open.remove(fd) }
    if open.isEmpty || ContinuousClock.now >= deadline { break }
    usleep(100_000)
  } while true
  return open.count
}

/// Whether the peer closed `fd` (end of file or reset) within the wait;
/// bytes that arrive meanwhile are read and dropped.
func isClosed(_ fd: Int32, waitingMilliseconds: Int32) -> Bool {
  let deadline = ContinuousClock.now + .milliseconds(Int(waitingMilliseconds))
  var buffer = [UInt8](repeating: 0, count: 4096)
  while true {
    let left = max(0, Int32((deadline - ContinuousClock.now).components.seconds * 1000)
      + Int32((deadline - ContinuousClock.now).components.attoseconds / 1_000_000_000_000_000))
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&poller, 1, left)
    if ready <= 0 { return false }
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return true }
  }
}
