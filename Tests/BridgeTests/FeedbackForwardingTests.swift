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

  func dispatcher(url: String) throws -> Dispatcher {
    var options = BridgeOptions(workspace: directory.path)
    options.stateDirectory = directory.path + "/state"
    options.feedbackURL = url
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

  @Test func badURLIsRefusedAtStart() {
    #expect(throws: ResponseError.self) { try dispatcher(url: "ftp://example.com/x") }
    #expect(throws: ResponseError.self) { try dispatcher(url: "not a url") }
    let https = #expect(throws: ResponseError.self) { try dispatcher(url: "https://feedback.example/submit") }
    #expect(
      https?.message
        == "--feedback-url must be an http:// URL: this build has no TLS; put a local forwarding proxy in front for https")
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

/// A real HTTP server on 127.0.0.1: answers 500 to the first `failFirst`
/// POSTs, then `status`; logs every attempt's status, and the bodies it
/// accepted with 2xx.
final class FeedbackTestServer: Sendable {
  let url: String
  private let process: SpawnedProcess
  private let attemptsPath: String
  private let receivedPath: String

  static let script = """
    import http.server, os, sys, threading
    # Exit when the test closes stdin or dies, so no server outlives it.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    fail_first, status, attempts_path, received_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    hang = sys.argv[5] == "hang"
    count = 0
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            global count
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if hang:
                open(received_path + ".hung", "w").close()
                threading.Event().wait()
            count += 1
            answer = 500 if count <= fail_first else status
            with open(attempts_path, "a") as f:
                f.write("%d\\n" % answer)
            if 200 <= answer < 300 and self.headers.get("Content-Type") == "application/json":
                with open(received_path, "ab") as f:
                    f.write(body + b"\\n")
            self.send_response(answer)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """

  init(directory: String, failFirst: Int, status: Int = 200, hang: Bool = false) throws {
    let name = UUID().uuidString
    let scriptPath = "\(directory)/server-\(name).py"
    attemptsPath = "\(directory)/attempts-\(name)"
    receivedPath = "\(directory)/received-\(name)"
    try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
    process = try SpawnedProcess(
      ["/usr/bin/env", "python3", scriptPath, String(failFirst), String(status), attemptsPath, receivedPath,
      hang ? "hang" : "answer",
    ])
    let line = process.readLine() ?? ""
    guard let port = Int(line) else {
      throw SpawnedProcess.SpawnError(errno: EIO)
    }
    url = "http://127.0.0.1:\(port)/feedback"
  }

  func attempts() -> [Int] {
    let text = (try? String(contentsOfFile: attemptsPath, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { Int($0) }
  }

  /// Whether a request reached the server and is being held.
  func hung() -> Bool { access(receivedPath + ".hung", F_OK) == 0 }

  func received() -> [JSONValue] {
    let text = (try? String(contentsOfFile: receivedPath, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
  }

  func stop() {
    process.closeInput()
    process.signal(SIGKILL)
    process.wait()
  }
}
