#if canImport(Glibc)
import Glibc
#endif
import Bridge
import Foundation
import JSONRPC
import TestSupport
import Testing

/// The forwarder's socket client against a real HTTP server on 127.0.0.1
/// (FeedbackTestServer: Python's http.server in a subprocess).
@Suite(.serialized) struct HTTPPostTests {
  let directory = TemporaryDirectory("httppost")

  @Test func returnsTheStatusAndSendsTheBody() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 1)
    defer { server.stop() }
    let endpoint = try HTTPPost.Endpoint(url: server.url)
    let body: JSONValue = ["feedback_id": "abc", "n": .int(1)]
    #expect(try await HTTPPost.post(JSONWriter.encode(body), to: endpoint, timeout: .seconds(5)) == 500)
    #expect(try await HTTPPost.post(JSONWriter.encode(body), to: endpoint, timeout: .seconds(5)) == 200)
    #expect(server.attempts() == [500, 200])
    // Recorded only when sent as application/json with the right length.
    #expect(server.received() == [body])
  }

  @Test func aRefusedConnectionIsAnErrorEveryTime() async throws {
    let endpoint = try HTTPPost.Endpoint(url: "http://127.0.0.1:9/feedback")
    let before = openDescriptors()
    // The URLSession this replaces could crash on quick failures like these.
    for _ in 0..<200 {
      let error = await #expect(throws: HTTPPost.Failure.self) {
        try await HTTPPost.post([], to: endpoint, timeout: .seconds(5))
      }
      #expect(error?.reason == "cannot connect to 127.0.0.1:9: Connection refused")
    }
    // No socket is leaked (slack for whatever else the process opens meanwhile).
    #expect(openDescriptors() - before < 10)
  }

  @Test func aServerThatNeverAnswersTimesOut() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, hang: true)
    defer { server.stop() }
    let endpoint = try HTTPPost.Endpoint(url: server.url)
    let start = ContinuousClock.now
    let error = await #expect(throws: HTTPPost.Failure.self) {
      try await HTTPPost.post(Array("{}".utf8), to: endpoint, timeout: .milliseconds(500))
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
    let endpoint = try HTTPPost.Endpoint(url: server.url)
    let post = Task { try await HTTPPost.post(Array("{}".utf8), to: endpoint, timeout: .seconds(60)) }
    #expect(try await eventually { server.hung() })
    let start = ContinuousClock.now
    post.cancel()
    await #expect(throws: CancellationError.self) { try await post.value }
    #expect(ContinuousClock.now - start < .seconds(2))
  }

  @Test func httpsIsRefusedWithTheReason() {
    let error = #expect(throws: HTTPPost.Failure.self) { try HTTPPost.Endpoint(url: "https://feedback.example/submit") }
    #expect(error?.reason == "this build has no TLS; put a local forwarding proxy in front for https")
  }

  @Test func parsesHostsPortsAndTargets() throws {
    let plain = try HTTPPost.Endpoint(url: "http://example.com")
    #expect(plain.host == "example.com" && plain.port == 80 && plain.target == "/")
    let full = try HTTPPost.Endpoint(url: "HTTP://10.0.0.1:8080/a/b?x=1&y=2#frag")
    #expect(full.host == "10.0.0.1" && full.port == 8080 && full.target == "/a/b?x=1&y=2")
    let v6 = try HTTPPost.Endpoint(url: "http://[::1]:9000?q")
    #expect(v6.host == "::1" && v6.port == 9000 && v6.target == "/?q")
    for bad in [
      "ftp://example.com/x", "not a url", "http://", "http://host:0/", "http://host:65536/", "http://[::1/",
      "http://user@host/", "http://host/a b", "http://host/\r\nX-Injected: 1",
    ] {
      #expect(throws: HTTPPost.Failure.self, "\(bad)") { try HTTPPost.Endpoint(url: bad) }
    }
  }

  func openDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
  }
}
