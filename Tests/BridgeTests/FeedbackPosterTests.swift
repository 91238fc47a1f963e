#if canImport(Glibc)
import Glibc
#endif
import Bridge
import Foundation
import JSONRPC
import TestSupport
import Testing

/// The forwarder's HTTP client against real servers on 127.0.0.1
/// (FeedbackTestServer: Python's http.server in a subprocess, TLS from
/// Python's ssl with a certificate made at test time).
@Suite(.serialized) struct FeedbackPosterTests {
  let directory = TemporaryDirectory("poster")

  /// A poster for `url` that is shut down when `body` ends, however it ends.
  func withPoster<T>(
    _ url: String, trusting roots: TestCertificate? = nil, _ body: (FeedbackPoster) async throws -> T
  ) async throws -> T {
    let poster = try FeedbackPoster(endpoint: FeedbackPoster.Endpoint(url: url), trustRootsFile: roots?.certificatePath)
    do {
      let result = try await body(poster)
      await poster.shutdown()
      return result
    } catch {
      await poster.shutdown()
      throw error
    }
  }

  @Test func returnsTheStatusAndSendsTheBody() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 1)
    defer { server.stop() }
    let body: JSONValue = ["feedback_id": "abc", "n": .int(1)]
    try await withPoster(server.url) { poster async throws in
      #expect(try await poster.post(JSONWriter.encode(body), timeout: .seconds(5)) == 500)
      #expect(try await poster.post(JSONWriter.encode(body), timeout: .seconds(5)) == 200)
    }
    #expect(server.attempts() == [500, 200])
    // Recorded only when sent as application/json with the right length.
    #expect(server.received() == [body])
  }

  @Test func postsOverHTTPSToAReceiverItsCAFileTrusts() async throws {
    let certificate = try TestCertificate(directory: directory.path)
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 1, tls: certificate)
    defer { server.stop() }
    #expect(server.url.hasPrefix("https://127.0.0.1:"))
    let body: JSONValue = ["feedback_id": "tls", "n": .int(2)]
    try await withPoster(server.url, trusting: certificate) { poster async throws in
      #expect(try await poster.post(JSONWriter.encode(body), timeout: .seconds(5)) == 500)
      #expect(try await poster.post(JSONWriter.encode(body), timeout: .seconds(5)) == 200)
    }
    #expect(server.attempts() == [500, 200])
    #expect(server.received() == [body])
  }

  /// Verification stays on: the system's roots do not include a
  /// self-signed receiver, another CA file does not vouch for it, and a
  /// certificate for another name does not do for 127.0.0.1.
  @Test func anUntrustedReceiverGetsNothing() async throws {
    let certificate = try TestCertificate(directory: directory.path)
    let stranger = try TestCertificate(directory: directory.path, name: "stranger")
    let elsewhere = try TestCertificate(directory: directory.path, name: "elsewhere", names: "DNS:elsewhere.example")
    for (served, trusted) in [(certificate, nil), (certificate, stranger), (elsewhere, elsewhere)] {
      let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, tls: served)
      defer { server.stop() }
      let error = try await withPoster(server.url, trusting: trusted) { poster async throws in
        await #expect(throws: FeedbackPoster.Failure.self) {
          try await poster.post(Array("{}".utf8), timeout: .seconds(5))
        }
      }
      let port = try #require(server.url.split(separator: ":").last?.split(separator: "/").first)
      #expect(error?.reason.hasPrefix("TLS with 127.0.0.1:\(port) failed: ") == true, "\(String(describing: error))")
      #expect(server.attempts().isEmpty)
    }
  }

  @Test func aBadCAFileIsRefusedUpFront() throws {
    let endpoint = try FeedbackPoster.Endpoint(url: "https://feedback.example/submit")
    let missing = #expect(throws: FeedbackPoster.Failure.self) {
      try FeedbackPoster(endpoint: endpoint, trustRootsFile: directory.path + "/nowhere.pem")
    }
    #expect(missing?.reason.hasPrefix("cannot read the CA file '\(directory.path)/nowhere.pem': ") == true)
    let empty = directory.path + "/empty.pem"
    try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: empty))
    #expect(throws: FeedbackPoster.Failure.self) { try FeedbackPoster(endpoint: endpoint, trustRootsFile: empty) }
  }

  /// A redirect would let the receiver send the record to another host or
  /// scheme: the 3xx is the answer, and the other server sees nothing.
  @Test func redirectsAreNotFollowed() async throws {
    let other = try FeedbackTestServer(directory: directory.path, failFirst: 0)
    defer { other.stop() }
    let certificate = try TestCertificate(directory: directory.path)
    for (status, tls) in [(307, nil), (301, certificate), (308, certificate)] {
      let server = try FeedbackTestServer(
        directory: directory.path, failFirst: 0, status: status, tls: tls, location: other.url)
      defer { server.stop() }
      try await withPoster(server.url, trusting: tls) { poster async throws in
        #expect(try await poster.post(Array("{}".utf8), timeout: .seconds(5)) == status)
      }
      #expect(server.attempts() == [status])
    }
    #expect(other.attempts().isEmpty)
  }

  @Test func aStallingBodyDoesNotHoldTheStatus() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, body: .stall)
    defer { server.stop() }
    let start = ContinuousClock.now
    try await withPoster(server.url) { poster async throws in
      #expect(try await poster.post(Array("{}".utf8), timeout: .seconds(60)) == 200)
    }
    #expect(ContinuousClock.now - start < .seconds(3))
  }

  /// At most 64 KiB of an answer is read: the server cannot get its 64 MiB
  /// out (socket buffers hold a few MiB at most).
  @Test func aHugeBodyIsNotRead() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, body: .huge)
    defer { server.stop() }
    try await withPoster(server.url) { poster async throws in
      #expect(try await poster.post(Array("{}".utf8), timeout: .seconds(10)) == 200)
    }
    #expect(try await eventually { !server.bodyBytesWritten().isEmpty })
    let written = try #require(server.bodyBytesWritten().first)
    #expect(written < 32 << 20, "\(written)")
  }

  @Test func aRefusedConnectionIsAnErrorEveryTime() async throws {
    let before = openDescriptors()
    try await withPoster("http://127.0.0.1:9/feedback") { poster async throws in
      for _ in 0..<200 {
        let error = await #expect(throws: FeedbackPoster.Failure.self) {
          try await poster.post([], timeout: .seconds(5))
        }
        #expect(error?.reason == "cannot connect to 127.0.0.1:9: Connection refused")
      }
    }
    // No socket is leaked (slack for whatever else the process opens meanwhile).
    #expect(openDescriptors() - before < 10)
  }

  @Test func aServerThatNeverAnswersTimesOut() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, hang: true)
    defer { server.stop() }
    let start = ContinuousClock.now
    let error = try await withPoster(server.url) { poster async throws in
      await #expect(throws: FeedbackPoster.Failure.self) {
        try await poster.post(Array("{}".utf8), timeout: .milliseconds(500))
      }
    }
    let elapsed = ContinuousClock.now - start
    #expect(error?.timedOut == true)
    #expect(error?.reason == "timed out waiting for the response")
    #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(3))
    #expect(server.hung())
  }

  @Test func cancellationStopsAWaitingPost() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, hang: true)
    defer { server.stop() }
    try await withPoster(server.url) { poster async throws in
      let post = Task { try await poster.post(Array("{}".utf8), timeout: .seconds(60)) }
      #expect(try await eventually { server.hung() })
      let start = ContinuousClock.now
      post.cancel()
      await #expect(throws: CancellationError.self) { try await post.value }
      #expect(ContinuousClock.now - start < .seconds(2))
    }
  }

  @Test func parsesHostsPortsAndTargets() throws {
    let plain = try FeedbackPoster.Endpoint(url: "http://example.com")
    #expect(plain.host == "example.com" && plain.port == 80 && plain.target == "/")
    let full = try FeedbackPoster.Endpoint(url: "HTTP://10.0.0.1:8080/a/b?x=1&y=2#frag")
    #expect(full.host == "10.0.0.1" && full.port == 8080 && full.target == "/a/b?x=1&y=2")
    let v6 = try FeedbackPoster.Endpoint(url: "http://[::1]:9000?q")
    #expect(v6.host == "::1" && v6.port == 9000 && v6.target == "/?q")
    let https = try FeedbackPoster.Endpoint(url: "HTTPS://feedback.example/submit")
    #expect(https.scheme == "https" && https.host == "feedback.example" && https.port == 443 && https.target == "/submit")
    for bad in [
      "ftp://example.com/x", "not a url", "http://", "https://", "http://host:0/", "http://host:65536/",
      "http://[::1/", "http://user@host/", "https://user:pass@host/", "http://host/a b",
      "http://host/\r\nX-Injected: 1",
    ] {
      #expect(throws: FeedbackPoster.Failure.self, "\(bad)") { try FeedbackPoster.Endpoint(url: bad) }
    }
  }

  func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
  }
}
