import Bridge
import Foundation
import JSONRPC
import Testing

@Suite struct ConfigFileTests {
  let directory = TemporaryDirectory("config")

  func parse(_ text: String) throws(ConfigFileError) -> ConfigFile {
    try ConfigFile.parse(Array(text.utf8), file: "bridge.json", baseDirectory: "/etc/ab")
  }

  func parseError(_ text: String) -> ConfigFileError? {
    do {
      _ = try parse(text)
      return nil
    } catch {
      return error
    }
  }

  @Test func readsEveryOptionAndConversations() throws {
    let config = try parse(
      """
      {
        "workspace": "proj",
        "conversation-id": "main",
        "log-level": "debug",
        "max-file-bytes": 1024,
        "max-inline-bytes": 2048,
        "runtime-id": "rt-1",
        "vscode-url": "http://localhost:8080",
        "vscode-token": "tok",
        "web-hosts": {"http://localhost:5173": 5173, "http://localhost:3000": 3000},
        "state-dir": "/var/lib/ab",
        "feedback-url": "http://127.0.0.1:9/feedback",
        "debounce-ms": 120,
        "conversations": [
          {"conversation-id": "two", "workspace": "/srv/two", "runtime-id": "rt-2", "vscode-url": "http://h",
           "vscode-token": null, "web-hosts": {"http://x": 1}},
          {"workspace": "../three"}
        ]
      }
      """)
    #expect(config.workspace == "/etc/ab/proj")
    #expect(config.conversationId == "main")
    #expect(config.logLevel == "debug")
    #expect(config.maxFileBytes == 1024)
    #expect(config.maxInlineBytes == 2048)
    #expect(config.runtimeId == "rt-1")
    #expect(config.vscodeURL == "http://localhost:8080")
    #expect(config.vscodeToken == "tok")
    #expect(config.webHosts?.map(\.url) == ["http://localhost:5173", "http://localhost:3000"])
    #expect(config.webHosts?.map(\.port) == [5173, 3000])
    #expect(config.stateDirectory == "/var/lib/ab")
    #expect(config.feedbackURL == "http://127.0.0.1:9/feedback")
    #expect(config.debounceMilliseconds == 120)
    var two = RuntimeFacts()
    two.runtimeId = "rt-2"
    two.vscodeURL = "http://h"
    two.webHosts = [("http://x", 1)]
    #expect(
      config.conversations == [
        ConversationConfig(id: "two", workspace: "/srv/two", runtime: two),
        ConversationConfig(id: nil, workspace: "/etc/ab/../three"),
      ])
  }

  @Test func emptyObjectSetsNothing() throws {
    let config = try parse("{}")
    #expect(config.workspace == nil && config.webHosts == nil && config.conversations.isEmpty)
  }

  struct Bad: Sendable, CustomTestStringConvertible {
    var text: String
    var line: Int
    var key: String?
    var says: String
    var testDescription: String { text }
  }

  @Test(arguments: [
    Bad(text: "{\n  \"workspace\": 3\n}", line: 2, key: "workspace", says: "must be a string"),
    Bad(text: "{\n\n  \"runtime_id\": \"x\"}", line: 3, key: "runtime_id", says: "unknown key"),
    Bad(text: "{\"max-file-bytes\": 0}", line: 1, key: "max-file-bytes", says: "positive integer"),
    Bad(text: "{\"max-file-bytes\": 1.5}", line: 1, key: "max-file-bytes", says: "positive integer"),
    Bad(text: "{\"log-level\": \"loud\"}", line: 1, key: "log-level", says: "must be one of"),
    Bad(text: "{\"web-hosts\": [\"http://a=1\"]}", line: 1, key: "web-hosts", says: "URL to port"),
    Bad(
      text: "{\"runtime-id\": \"r\",\n \"conversations\": [\n  {\"workspace\": \"/x\"},\n  {\"workspace\": \"/y\", \"web-hosts\": {\"http://a\": 70000}}]}",
      line: 4, key: "conversations[1].web-hosts.http://a", says: "0 to 65535"),
    Bad(text: "{\"conversations\": [\n {\"runtime-id\": \"r\"}]}", line: 2, key: "conversations[0]", says: "needs a \"workspace\""),
    Bad(text: "{\"conversations\": [\n {\"workspace\": \"/x\", \"state-dir\": \"/y\"}]}", line: 2,
        key: "conversations[0].state-dir", says: "unknown key"),
    Bad(text: "{\"conversations\": {}}", line: 1, key: "conversations", says: "must be an array"),
    Bad(text: "[1]", line: 1, key: "", says: "must be an object"),
    Bad(text: "{\n  \"workspace\": \"/x\",\n  \"runtime-id\": \"y\"\n  \"vscode-url\": \"z\"\n}", line: 4, key: "runtime-id",
        says: "not valid JSON"),
    Bad(text: "{\"workspace\": \"/x\",}", line: 1, key: "workspace", says: "not valid JSON"),
  ])
  func errorsNameFileLineAndKey(bad: Bad) throws {
    let error = try #require(parseError(bad.text))
    #expect(error.file == "bridge.json")
    #expect(error.line == bad.line)
    #expect(error.key == bad.key)
    #expect(error.message.contains(bad.says), "\(error)")
    #expect(error.description.hasPrefix("bridge.json:\(bad.line):"))
  }

  @Test func columnCountsCharacters() throws {
    let error = try #require(parseError("{\"runtime-id\": \"é\", \"workspace\": true}"))
    // `"workspace"` starts at the 21st character, though at the 22nd byte.
    #expect(error.column == 21)
    #expect(error.description == #"bridge.json:1:21: key "workspace": must be a string, not a boolean"#)
  }

  @Test func loadResolvesPathsAgainstTheFileAndReportsMissingFiles() throws {
    let path = directory.path + "/bridge.json"
    try Data(#"{"workspace": "ws", "conversations": [{"workspace": "/abs"}]}"#.utf8).write(to: URL(fileURLWithPath: path))
    let config = try ConfigFile.load(path: path)
    #expect(config.workspace == directory.path + "/ws")
    #expect(config.conversations.first?.workspace == "/abs")

    #expect(throws: ConfigFileError.self) { try ConfigFile.load(path: directory.path + "/missing.json") }
    #expect(throws: ConfigFileError.self) { try ConfigFile.load(path: directory.path) }
  }

  @Test func tildeIsHome() throws {
    let home = try #require(ProcessInfo.processInfo.environment["HOME"])
    #expect(try parse(#"{"state-dir": "~/st"}"#).stateDirectory == home + "/st")
  }
}
