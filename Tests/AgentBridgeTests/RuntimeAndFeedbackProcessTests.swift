#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import TestSupport
import Testing

/// getConfig, vscodeUrl, webHosts and submitFeedback through the built
/// binary: stdio (real pipes), `call`, `feedback list|show`, the config file,
/// and a SIGKILL that must not lose an acknowledged record.
@Suite struct RuntimeAndFeedbackProcessTests {
  let directory = RuntimeTestDirectory()
  var workspace: String { directory.path + "/work space" }
  var state: String { directory.path + "/state" }

  init() throws {
    try FileManager.default.createDirectory(atPath: directory.path + "/work space", withIntermediateDirectories: true)
  }

  static var binary: String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("agent-bridge").path
  }

  var realWorkspace: String { URL(fileURLWithPath: workspace).resolvingSymlinksInPath().path }

  var runtimeFlags: [String] {
    [
      "--workspace", workspace, "--conversation-id", "c0ffee", "--runtime-id", "rt-7", "--vscode-url",
      "http://localhost:41234/", "--vscode-token", "tok en", "--web-host", "http://localhost:5173=5173",
      "--web-host", "http://localhost:3000=3000", "--state-dir", state,
    ]
  }

  var encodedWorkspace: String { realWorkspace.replacingOccurrences(of: " ", with: "%20") }

  /// Runs `agent-bridge ARGS` to completion: exit code, stdout, stderr.
  func run(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let result = try Program.run(Self.binary, arguments)
    return (result.status, result.output, result.errors)
  }

  @Test func callAnswersEveryRuntimeMethod() throws {
    let config = try run(["call", "getConfig"] + runtimeFlags)
    #expect(config.code == 0)
    #expect(config.out == #"{"runtime_id":"rt-7","session_id":"c0ffee"}"# + "\n")
    #expect(config.err == "")
    let vscode = try run(["call", "vscodeUrl"] + runtimeFlags)
    #expect(vscode.out == #"{"vscode_url":"http://localhost:41234/?tkn=tok%20en&folder=\#(encodedWorkspace)"}"# + "\n")
    let hosts = try run(["call", "webHosts"] + runtimeFlags)
    #expect(hosts.out == #"{"hosts":{"http://localhost:5173":5173,"http://localhost:3000":3000}}"# + "\n")
    // Unset facts.
    let bare = ["--workspace", workspace, "--state-dir", state]
    #expect(try run(["call", "vscodeUrl"] + bare).out == #"{"vscode_url":null}"# + "\n")
    #expect(try run(["call", "webHosts"] + bare).out == #"{"hosts":{}}"# + "\n")
  }

  @Test func callSubmitsFeedbackAndReportsErrors() throws {
    let ok = try run(["call", "submitFeedback", #"{"polarity":"positive","email":"a@b.c"}"#] + runtimeFlags)
    #expect(ok.code == 0)
    let reply = try JSONParser.parse(ok.out)
    #expect(reply["statusCode"] == 200)
    #expect(reply["body"]?["message"] == "Feedback submitted")
    let id = try #require(reply["body"]?["feedback_id"]?.stringValue)
    let stored = try String(contentsOfFile: state + "/feedback.jsonl", encoding: .utf8)
    #expect(stored.contains(#""feedback_id":"\#(id)""#))

    let bad = try run(["call", "submitFeedback", #"{"polarity":"meh"}"#] + runtimeFlags)
    #expect(bad.code == 1)
    #expect(bad.out == "")
    let error = try JSONParser.parse(bad.err.trimmingCharacters(in: .newlines))
    #expect(error["code"] == -32602)
    #expect(error["data"]?["body"]?["detail"]?.arrayValue?.first?["loc"] == ["body", "polarity"])

    let missing = try run(["call", "getConfig", #"{"conversationId":"nope"}"#] + runtimeFlags)
    #expect(missing.code == 1)
    let notFound = try JSONParser.parse(missing.err.trimmingCharacters(in: .newlines))
    #expect(notFound["code"] == -32001)
    #expect(notFound["data"] == ["httpStatus": 404, "body": ["detail": "Conversation nope not found"]])
  }

  @Test func stdioServesTheShapes() throws {
    let bridge = try SpawnedProcess([Self.binary] + runtimeFlags)
    let requests: [(Int, String, String)] = [
      (1, "getConfig", "{}"),
      (2, "vscodeUrl", "{}"),
      (3, "webHosts", "{}"),
      (4, "submitFeedback", #"{"polarity":"negative","permissions":"public","trajectory":{"a":[1]}}"#),
      (5, "submitFeedback", #"{"polarity":"positive","permissions":"everyone"}"#),
      (6, "webHosts", #"{"conversationId":"other"}"#),
    ]
    for (id, method, params) in requests {
      bridge.write(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"# + "\n")
    }
    var replies: [Int64: JSONValue] = [:]
    while replies.count < 6, let line = bridge.readLine() {
      let json = try JSONParser.parse(line)
      replies[try #require(json["id"]?.intValue)] = json
    }
    // And one in LSP framing, answered in LSP framing.
    let body = #"{"jsonrpc":"2.0","id":7,"method":"getConfig"}"#
    bridge.write("Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    let header = try #require(bridge.readLine())
    #expect(header.hasPrefix("Content-Length: "))
    #expect(bridge.readLine() == "\r")
    let length = try #require(Int(header.dropFirst("Content-Length: ".count).dropLast()))
    replies[7] = try JSONParser.parse(try #require(bridge.readBytes(length)))
    bridge.closeInput()
    #expect(bridge.wait() == 0)
    func result(_ id: Int64) -> String? { replies[id]?["result"].map { JSONWriter.string($0) } }
    #expect(result(1) == #"{"runtime_id":"rt-7","session_id":"c0ffee"}"#)
    #expect(result(2) == #"{"vscode_url":"http://localhost:41234/?tkn=tok%20en&folder=\#(encodedWorkspace)"}"#)
    #expect(result(3) == #"{"hosts":{"http://localhost:5173":5173,"http://localhost:3000":3000}}"#)
    #expect(replies[4]?["result"]?["body"]?.objectValue?.keys == ["message", "feedback_id", "password"])
    #expect(replies[5]?["error"]?["code"] == -32602)
    #expect(replies[5]?["error"]?["data"]?["body"]?["detail"]?.arrayValue?.first?["loc"] == ["body", "permissions"])
    #expect(replies[6]?["error"]?["code"] == -32001)
    #expect(result(7) == result(1))
  }

  /// 50 acknowledged records survive SIGKILL right after the last reply.
  @Test func acknowledgedFeedbackSurvivesSIGKILL() throws {
    let bridge = try SpawnedProcess([Self.binary] + runtimeFlags)
    for id in 1...50 {
      let params = #"{"polarity":"\#(id % 2 == 0 ? "positive" : "negative")","feedback":"record \#(id)"}"#
      bridge.write(#"{"jsonrpc":"2.0","id":\#(id),"method":"submitFeedback","params":\#(params)}"# + "\n")
    }
    var acknowledged = Set<String>()
    while acknowledged.count < 50, let line = bridge.readLine() {
      let reply = try JSONParser.parse(line)
      acknowledged.insert(try #require(reply["result"]?["body"]?["feedback_id"]?.stringValue))
    }
    #expect(acknowledged.count == 50)
    bridge.signal(SIGKILL)
    #expect(bridge.wait() == 128 + SIGKILL)

    let lines = try String(contentsOfFile: state + "/feedback.jsonl", encoding: .utf8)
      .split(separator: "\n").map(String.init)
    #expect(lines.count == 50)
    let onDisk = Set(try lines.map { try #require(JSONParser.parse($0)["feedback_id"]?.stringValue) })
    #expect(onDisk == acknowledged)
  }

  @Test func feedbackListAndShow() throws {
    var ids: [String] = []
    for polarity in ["positive", "negative"] {
      let reply = try run(["call", "submitFeedback", #"{"polarity":"\#(polarity)","email":"me@x.org"}"#] + runtimeFlags)
      ids.append(try #require(JSONParser.parse(reply.out)["body"]?["feedback_id"]?.stringValue))
    }
    // A crash left half a line behind.
    let handle = try #require(FileHandle(forWritingAtPath: state + "/feedback.jsonl"))
    handle.seekToEndOfFile()
    handle.write(Data(#"{"feedback_id":"torn"#.utf8))
    try handle.close()

    let list = try run(["feedback", "list", "--state-dir", state])
    #expect(list.code == 0)
    let rows = list.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
    #expect(rows.map { $0.first } == ids)
    #expect(rows.first?.contains("positive") == true)
    #expect(rows.first?.contains("me@x.org") == true)
    #expect(list.err.contains("skipped 1 torn"))

    let json = try run(["feedback", "list", "--json", "--state-dir", state])
    #expect(try json.out.split(separator: "\n").map { try JSONParser.parse(String($0))["feedback_id"]?.stringValue } == ids)

    let show = try run(["feedback", "show", String(ids[1].prefix(8)), "--state-dir", state])
    #expect(show.code == 0)
    let record = try JSONParser.parse(show.out)
    #expect(record["feedback_id"] == .string(ids[1]))
    #expect(record["polarity"] == "negative")
    #expect(try run(["feedback", "show", "ffffffffffffffff0", "--state-dir", state]).code != 0)
  }

  @Test func configFileConversationsAndOverrides() throws {
    let other = directory.path + "/other"
    try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
    let config = directory.path + "/bridge.json"
    try Data(
      """
      {
        "workspace": "work space",
        "conversation-id": "main",
        "runtime-id": "from-file",
        "state-dir": "state",
        "conversations": [
          {"conversation-id": "side", "workspace": "other", "runtime-id": "rt-side",
           "web-hosts": {"http://localhost:8000": 8000}}
        ]
      }
      """.utf8
    ).write(to: URL(fileURLWithPath: config))
    #expect(try run(["call", "getConfig", "--config", config]).out == #"{"runtime_id":"from-file","session_id":"main"}"# + "\n")
    // A flag wins over the file.
    #expect(
      try run(["call", "getConfig", "--config", config, "--runtime-id", "flag"]).out
        == #"{"runtime_id":"flag","session_id":"main"}"# + "\n")
    #expect(
      try run(["call", "webHosts", #"{"conversationId":"side"}"#, "--config", config]).out
        == #"{"hosts":{"http://localhost:8000":8000}}"# + "\n")
    // The file's state-dir, relative to the file, reaches submitFeedback.
    #expect(try run(["call", "submitFeedback", #"{"polarity":"positive"}"#, "--config", config]).code == 0)
    #expect(FileManager.default.fileExists(atPath: state + "/feedback.jsonl"))
    // And stdio lists the configured conversations.
    let bridge = try SpawnedProcess([Self.binary, "--config", config])
    bridge.write(#"{"jsonrpc":"2.0","id":1,"method":"listConversations"}"# + "\n")
    let listed = try JSONParser.parse(try #require(bridge.readLine()))
    bridge.closeInput()
    bridge.wait()
    #expect(listed["result"]?.arrayValue?.compactMap { $0["conversationId"]?.stringValue } == ["main", "side"])

    try Data("{\n  \"runtime-id\": \"x\",\n  \"web-hosts\": {\"http://a\": \"80\"}\n}".utf8)
      .write(to: URL(fileURLWithPath: config))
    let bad = try run(["call", "getConfig", "--config", config])
    #expect(bad.code != 0)
    #expect(bad.err.contains("\(config):3:"))
    #expect(bad.err.contains(#"key "web-hosts.http://a""#))
  }

  @Test func forwardsThroughTheBinary() throws {
    let server = try RuntimeTestHTTPServer(directory: directory.path)
    defer { server.stop() }
    let bridge = try SpawnedProcess([Self.binary, "--feedback-url", server.url] + runtimeFlags)
    bridge.write(#"{"jsonrpc":"2.0","id":1,"method":"submitFeedback","params":{"polarity":"positive"}}"# + "\n")
    let reply = try JSONParser.parse(try #require(bridge.readLine()))
    let id = try #require(reply["result"]?["body"]?["feedback_id"]?.stringValue)
    let deadline = Date().addingTimeInterval(10)
    while server.receivedIds().isEmpty && Date() < deadline { usleep(20_000) }
    #expect(server.receivedIds() == [id])
    while !((try? String(contentsOfFile: state + "/feedback-delivered.jsonl", encoding: .utf8)) ?? "").contains(id)
      && Date() < deadline
    {
      usleep(20_000)
    }
    #expect(((try? String(contentsOfFile: state + "/feedback-delivered.jsonl", encoding: .utf8)) ?? "").contains(id))
    bridge.closeInput()
    #expect(bridge.wait() == 0)
  }
}

final class RuntimeTestDirectory: Sendable {
  let path: String
  init() {
    path = NSTemporaryDirectory() + "/ab-e2e-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Python's http.server on 127.0.0.1, accepting every POST and logging bodies.
final class RuntimeTestHTTPServer: Sendable {
  let url: String
  private let process: SpawnedProcess
  private let receivedPath: String

  init(directory: String) throws {
    let script = directory + "/server.py"
    receivedPath = directory + "/received.jsonl"
    try Data(
      """
      import http.server, os, sys, threading
      threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
      class Handler(http.server.BaseHTTPRequestHandler):
          def do_POST(self):
              body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
              with open(sys.argv[1], "ab") as f:
                  f.write(body + b"\\n")
              self.send_response(200)
              self.send_header("Content-Length", "0")
              self.end_headers()
          def log_message(self, *args):
              pass
      server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
      print(server.server_address[1], flush=True)
      server.serve_forever()
      """.utf8
    ).write(to: URL(fileURLWithPath: script))
    process = try SpawnedProcess(["/usr/bin/env", "python3", script, receivedPath])
    guard let port = process.readLine().flatMap({ Int($0) }) else { throw SpawnedProcess.SpawnError(errno: EIO) }
    url = "http://127.0.0.1:\(port)/feedback"
  }

  func receivedIds() -> [String] {
    let text = (try? String(contentsOfFile: receivedPath, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { try? JSONParser.parse(String($0))["feedback_id"]?.stringValue }
  }

  func stop() {
    process.closeInput()
    process.signal(SIGKILL)
    process.wait()
  }
}
