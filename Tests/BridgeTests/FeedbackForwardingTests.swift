#if canImport(Glibc)
import Glibc
#endif
import Bridge
import Foundation
import JSONRPC
import TestSupport
import Testing

/// Forwarding to a real HTTP server on 127.0.0.1 (Python's http.server in a
/// subprocess): failures are retried with backoff, deliveries are marked,
/// and a restarted bridge resumes what was not delivered.
@Suite(.serialized) struct FeedbackForwardingTests {
  let directory = TemporaryDirectory("forward")

  func dispatcher(url: String, caFile: String? = nil) throws -> Dispatcher {
    var options = BridgeOptions(workspace: directory.path)
    options.stateDirectory = directory.path + "/state"
    options.feedbackURL = url
    options.feedbackCAFile = caFile
    options.feedbackBackoff = .init(initial: .milliseconds(20), maximum: .milliseconds(100), requestTimeout: .seconds(5))
    return try Dispatcher(options: options)
  }

  func submit(_ dispatcher: Dispatcher, _ polarity: String) async throws -> String {
    let result = try await dispatcher.call(method: "submitFeedback", params: ["polarity": .string(polarity)]).get()
    return try #require(result["body"]?["feedback_id"]?.stringValue)
  }

  @Test func failingServerThenRecovery() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 3)
    defer { server.stop() }
    let dispatcher = try dispatcher(url: server.url)
    defer { dispatcher.feedbackForwarder?.stop() }
    let first = try await submit(dispatcher, "positive")
    let second = try await submit(dispatcher, "negative")

    let delivered = try await eventually {
      try dispatcher.feedback.readDeliveries().values.filter { $0.outcome == .delivered }.count == 2
    }
    #expect(delivered)
    let marks = try dispatcher.feedback.readDeliveries()
    #expect(marks[first]?.httpStatus == 200)
    #expect(marks[second]?.httpStatus == 200)
    // Three refusals, then each record once, oldest first.
    #expect(server.attempts().count == 5)
    let received = server.received()
    #expect(received.map { $0["feedback_id"]?.stringValue } == [first, second])
    // What is sent is the stored record.
    #expect(received == (try dispatcher.feedback.readRecords().records))
    #expect(try dispatcher.feedback.undelivered().isEmpty)
  }

  /// A server that never answers holds the forwarder, not the replies: if
  /// a reply waited for forwarding, this test would never finish.
  @Test func aHungServerDoesNotHoldReplies() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, hang: true)
    defer { server.stop() }
    let dispatcher = try dispatcher(url: server.url)
    defer { dispatcher.feedbackForwarder?.stop() }
    for polarity in ["positive", "negative", "positive"] { _ = try await submit(dispatcher, polarity) }
    #expect(try await eventually { server.hung() })
    #expect(try dispatcher.feedback.readRecords().records.count == 3)
    #expect(try dispatcher.feedback.undelivered().count == 3)
  }

  @Test func aRefusingServerIsMarkedAndNotRetried() async throws {
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, status: 400)
    defer { server.stop() }
    let dispatcher = try dispatcher(url: server.url)
    defer { dispatcher.feedbackForwarder?.stop() }
    let id = try await submit(dispatcher, "positive")
    #expect(try await eventually { try dispatcher.feedback.readDeliveries()[id]?.outcome == .rejected })
    try await Task.sleep(for: .milliseconds(300))
    #expect(server.attempts() == [400])
    #expect(try dispatcher.feedback.undelivered().isEmpty)
  }

  @Test func aRestartResumesUndeliveredRecords() async throws {
    // Nothing listens on the discard port: connections are refused.
    let down = try dispatcher(url: "http://127.0.0.1:9/feedback")
    let first = try await submit(down, "positive")
    let second = try await submit(down, "negative")
    try await Task.sleep(for: .milliseconds(200))
    down.feedbackForwarder?.stop()
    #expect(try down.feedback.undelivered().count == 2)

    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0)
    defer { server.stop() }
    // A new process on the same state directory; no new submissions.
    let restarted = try dispatcher(url: server.url)
    defer { restarted.feedbackForwarder?.stop() }
    #expect(try await eventually { try restarted.feedback.undelivered().isEmpty })
    #expect(server.received().map { $0["feedback_id"]?.stringValue } == [first, second])
  }

  /// The whole path over https: the dispatcher's forwarder trusts the
  /// receiver's self-signed certificate because --feedback-ca-file names it.
  @Test func forwardsOverHTTPSWithTheCAFile() async throws {
    let certificate = try TestCertificate(directory: directory.path)
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 1, tls: certificate)
    defer { server.stop() }
    let dispatcher = try dispatcher(url: server.url, caFile: certificate.certificatePath)
    let id = try await submit(dispatcher, "positive")
    let delivered = try await eventually { try dispatcher.feedback.readDeliveries()[id]?.outcome == .delivered }
    await dispatcher.feedbackForwarder?.finish()
    #expect(delivered)
    #expect(server.attempts() == [500, 200])
    #expect(server.received() == (try dispatcher.feedback.readRecords().records))
  }

  /// Without the CA file the system's roots decide, and they do not vouch
  /// for a self-signed receiver: nothing is delivered, the record waits.
  @Test func anUntrustedHTTPSReceiverGetsNothing() async throws {
    let certificate = try TestCertificate(directory: directory.path)
    let server = try FeedbackTestServer(directory: directory.path, failFirst: 0, tls: certificate)
    defer { server.stop() }
    let dispatcher = try dispatcher(url: server.url)
    _ = try await submit(dispatcher, "positive")
    try await Task.sleep(for: .milliseconds(300))
    await dispatcher.feedbackForwarder?.finish()
    #expect(server.attempts().isEmpty)
    #expect(try dispatcher.feedback.undelivered().count == 1)
  }

  @Test func badURLIsRefusedAtStart() throws {
    #expect(throws: ResponseError.self) { try dispatcher(url: "not a url") }
    let bad = #expect(throws: ResponseError.self) { try dispatcher(url: "ftp://example.com/x") }
    #expect(bad?.message == "--feedback-url must be an http:// or https:// URL: got 'ftp://example.com/x'")
    let https = try dispatcher(url: "https://feedback.example/submit")
    #expect(https.feedbackForwarder?.url.port == 443)
    https.feedbackForwarder?.stop()
    let ca = #expect(throws: ResponseError.self) {
      try dispatcher(url: "https://feedback.example/submit", caFile: directory.path + "/nowhere.pem")
    }
    #expect(ca?.message.hasPrefix("--feedback-ca-file: cannot read the CA file") == true)
  }
}

/// Polls until `condition` holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async throws -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try condition() { return true }
    try await Task.sleep(for: .milliseconds(20))
  }
  return try condition()
}
