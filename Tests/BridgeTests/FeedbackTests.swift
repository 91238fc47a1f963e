import Bridge
import BridgeProtocol
import Foundation
import JSONRPC
import Testing

/// submitFeedback through the dispatcher, and the store under it, on real
/// files.
@Suite struct FeedbackTests {
  let directory = TemporaryDirectory("feedback")
  var stateDirectory: String { directory.path + "/state/nested" }

  func dispatcher() throws -> Dispatcher {
    var options = BridgeOptions(workspace: directory.path)
    options.stateDirectory = stateDirectory
    return try Dispatcher(options: options)
  }

  func lines(_ path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
  }

  static func isHex32(_ value: JSONValue?) -> Bool {
    guard let text = value?.stringValue else { return false }
    return text.utf8.count == 32 && text.allSatisfy { "0123456789abcdef".contains($0) }
  }

  @Test func replyShapeAndStoredRecord() async throws {
    let dispatcher = try dispatcher()
    let params: JSONValue = [
      "email": "me@example.com", "version": "1.0", "permissions": "public", "polarity": "negative",
      "feedback": "slow", "trajectory": ["events": [1, ["a": nil]]], "token": "",
    ]
    let result = try await dispatcher.call(method: "submitFeedback", params: params).get()
    #expect(result["statusCode"] == 200)
    #expect(result["body"]?["message"] == "Feedback submitted")
    #expect(result.objectValue?.keys == ["statusCode", "body"])
    #expect(result["body"]?.objectValue?.keys == ["message", "feedback_id", "password"])
    #expect(Self.isHex32(result["body"]?["feedback_id"]))
    #expect(Self.isHex32(result["body"]?["password"]))
    #expect(result["body"]?["feedback_id"] != result["body"]?["password"])

    let stored = try dispatcher.feedback.readRecords()
    #expect(stored.skipped == 0)
    let record = try #require(stored.records.first)
    #expect(stored.records.count == 1)
    #expect(record["feedback_id"] == result["body"]?["feedback_id"])
    #expect(record["conversation_id"] == .string(dispatcher.conversations.defaultConversation.id))
    #expect(record["email"] == "me@example.com")
    #expect(record["version"] == "1.0")
    #expect(record["permissions"] == "public")
    #expect(record["polarity"] == "negative")
    #expect(record["feedback"] == "slow")
    #expect(record["trajectory"] == ["events": [1, ["a": nil]]])
    #expect(record["password"] == nil)
    #expect(record["created_at"]?.stringValue?.hasSuffix("Z") == true)
    // One line, ending in a newline.
    #expect(try lines(dispatcher.feedback.recordsPath).count == 2)
  }

  @Test func defaults() async throws {
    let dispatcher = try dispatcher()
    _ = try await dispatcher.call(method: "submitFeedback", params: ["polarity": "positive"]).get()
    let record = try #require(try dispatcher.feedback.readRecords().records.first)
    #expect(record["permissions"] == "private")
    #expect(record["email"] == "")
    #expect(record["version"] == "")
    // As OpenHands stores it: feedback is the polarity when none is given.
    #expect(record["feedback"] == "positive")
    #expect(record["trajectory"] == .null)
  }

  /// The state directory is created with private permissions, parents too.
  @Test func createsThePrivateStateDirectory() async throws {
    let dispatcher = try dispatcher()
    #expect(!FileManager.default.fileExists(atPath: stateDirectory))
    _ = try await dispatcher.call(method: "submitFeedback", params: ["polarity": "positive"]).get()
    let attributes = try FileManager.default.attributesOfItem(atPath: stateDirectory)
    #expect((attributes[.posixPermissions] as? Int) == 0o700)
    let file = try FileManager.default.attributesOfItem(atPath: dispatcher.feedback.recordsPath)
    #expect((file[.posixPermissions] as? Int) == 0o600)
  }

  struct BadParams: Sendable, CustomTestStringConvertible {
    var params: JSONValue
    var field: String?
    var type: String
    var testDescription: String { JSONWriter.string(params) }
  }

  @Test(arguments: [
    BadParams(params: [:], field: "polarity", type: "missing"),
    BadParams(params: ["polarity": nil], field: "polarity", type: "missing"),
    BadParams(params: ["polarity": ""], field: "polarity", type: "enum"),
    BadParams(params: ["polarity": "Positive"], field: "polarity", type: "enum"),
    BadParams(params: ["polarity": 1], field: "polarity", type: "string_type"),
    BadParams(params: ["polarity": "positive", "permissions": "secret"], field: "permissions", type: "enum"),
    BadParams(params: ["polarity": "positive", "permissions": true], field: "permissions", type: "string_type"),
    BadParams(params: ["polarity": "positive", "email": 5], field: "email", type: "string_type"),
    BadParams(params: ["polarity": "positive", "version": [1]], field: "version", type: "string_type"),
    BadParams(params: ["polarity": "positive", "feedback": ["x": 1]], field: "feedback", type: "string_type"),
    BadParams(params: ["polarity", "positive"], field: nil, type: "model_attributes_type"),
    BadParams(params: "positive", field: nil, type: "model_attributes_type"),
  ])
  func invalidParamsName(bad: BadParams) async throws {
    let dispatcher = try dispatcher()
    let error = try #require(await dispatcher.call(method: "submitFeedback", params: bad.params).failure)
    #expect(error.code.rawValue == -32602)
    #expect(error.data?["httpStatus"] == 422)
    let detail = try #require(error.data?["body"]?["detail"]?.arrayValue?.first)
    #expect(detail["type"] == .string(bad.type))
    let loc: JSONValue = bad.field.map { ["body", .string($0)] } ?? ["body"]
    #expect(detail["loc"] == loc)
    if let field = bad.field { #expect(error.message.contains(field)) }
    #expect(detail["msg"]?.stringValue?.isEmpty == false)
    // Nothing was stored.
    #expect(!FileManager.default.fileExists(atPath: dispatcher.feedback.recordsPath))
  }

  @Test func enumErrorsSayWhatIsAllowed() async throws {
    let dispatcher = try dispatcher()
    let error = try #require(await dispatcher.call(method: "submitFeedback", params: ["polarity": "meh"]).failure)
    #expect(
      error.data?["body"]
        == ["detail": [["type": "enum", "loc": ["body", "polarity"], "msg": "Input should be 'positive' or 'negative'", "input": "meh"]]])
  }

  /// Many submissions at once: every one acknowledged, every line whole.
  @Test func concurrentSubmissionsWriteWholeLines() async throws {
    let dispatcher = try dispatcher()
    // Big enough that a non-atomic writer would tear lines.
    let payload = JSONValue.string(String(repeating: "x", count: 20_000))
    let ids = try await withThrowingTaskGroup(of: String.self) { group in
      for index in 0..<200 {
        group.addTask {
          let result = try await dispatcher.call(
            method: "submitFeedback",
            params: ["polarity": index % 2 == 0 ? "positive" : "negative", "trajectory": ["n": .int(Int64(index)), "p": payload]]
          ).get()
          return try #require(result["body"]?["feedback_id"]?.stringValue)
        }
      }
      return try await group.reduce(into: Set<String>()) { $0.insert($1) }
    }
    #expect(ids.count == 200)
    let lines = try lines(dispatcher.feedback.recordsPath).filter { !$0.isEmpty }
    #expect(lines.count == 200)
    var seen = Set<String>()
    for line in lines {
      let record = try JSONParser.parse(line)
      seen.insert(try #require(record["feedback_id"]?.stringValue))
      #expect(record["trajectory"]?["p"] == payload)
    }
    #expect(seen == ids)
  }

  /// An earlier crash left half a record: the next one starts on a fresh
  /// line, and readers skip the torn one.
  @Test func tornLastLineIsClosedOffAndSkipped() async throws {
    let first = try dispatcher()
    let kept = try await first.call(method: "submitFeedback", params: ["polarity": "positive"]).get()
    let path = first.feedback.recordsPath
    let handle = try #require(FileHandle(forWritingAtPath: path))
    handle.seekToEndOfFile()
    handle.write(Data(#"{"feedback_id":"deadbeef","email":"ha"#.utf8))
    try handle.close()

    // A new process (dispatcher) appends after the crash.
    let second = try dispatcher()
    let added = try await second.call(method: "submitFeedback", params: ["polarity": "negative"]).get()
    let lines = try lines(path)
    #expect(lines.count == 4)
    #expect(lines[1] == #"{"feedback_id":"deadbeef","email":"ha"#)
    #expect(try JSONParser.parse(lines[2])["feedback_id"] == added["body"]?["feedback_id"])
    #expect(lines[3] == "")
    let read = try second.feedback.readRecords()
    #expect(read.skipped == 1)
    #expect(read.records.map { $0["feedback_id"] } == [kept["body"]?["feedback_id"], added["body"]?["feedback_id"]])
  }

  /// A store that cannot be written answers -32603, OpenHands' 500 body.
  @Test func unwritableStoreIsAnInternalError() async throws {
    try Data().write(to: URL(fileURLWithPath: directory.path + "/state"))
    let dispatcher = try dispatcher()
    let error = try #require(await dispatcher.call(method: "submitFeedback", params: ["polarity": "positive"]).failure)
    #expect(error.code.rawValue == -32603)
    #expect(error.data?["httpStatus"] == 500)
    let body = try #require(error.data?["body"]?["error"]?.stringValue)
    #expect(body.hasPrefix("Failed to submit feedback"))
    #expect(!body.contains(directory.path))
  }

  @Test func defaultDirectoryFollowsXDG() {
    // The process environment is shared by concurrently running tests, so
    // only check what the current environment implies.
    let expected: String?
    if let state = ProcessInfo.processInfo.environment["XDG_STATE_HOME"], state.hasPrefix("/") {
      expected = state + "/agent-bridge"
    } else if let home = ProcessInfo.processInfo.environment["HOME"], home.hasPrefix("/") {
      expected = home + "/.local/state/agent-bridge"
    } else {
      expected = nil
    }
    #expect(FeedbackStore.defaultDirectory() == expected)
  }
}

/// Another bridge sharing the state directory dies mid-line while this one
/// has the file open: this one's next record still starts on a fresh line.
@Suite struct SharedFeedbackStoreTests {
  let directory = TemporaryDirectory("shared-store")

  @Test func aTornLineFromAnotherWriterIsClosedOffBeforeEachBatch() async throws {
    let store = FeedbackStore(directory: directory.path)
    let first = SubmitFeedbackRequest.Params(polarity: "positive")
    try await store.append(FeedbackStore.record(first, id: "a", password: "p", conversationId: "c"))
    // The other process's partial write, while our descriptor stays open.
    let handle = try #require(FileHandle(forWritingAtPath: store.recordsPath))
    handle.seekToEndOfFile()
    handle.write(Data(#"{"feedback_id":"other","emai"#.utf8))
    try handle.close()
    try await store.append(FeedbackStore.record(first, id: "b", password: "p", conversationId: "c"))
    let read = try store.readRecords()
    #expect(read.records.compactMap { $0["feedback_id"]?.stringValue } == ["a", "b"])
    #expect(read.skipped == 1)
  }

  /// Two stores (two processes' appenders) on one file, appending at once.
  @Test func twoAppendersNeverInterleave() async throws {
    let one = FeedbackStore(directory: directory.path)
    let two = FeedbackStore(directory: directory.path)
    let big = JSONValue.string(String(repeating: "y", count: 50_000))
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<100 {
        group.addTask {
          var params = SubmitFeedbackRequest.Params(polarity: "negative")
          params.trajectory = big
          let store = index % 2 == 0 ? one : two
          try await store.append(FeedbackStore.record(params, id: "r\(index)", password: "p", conversationId: "c"))
        }
      }
      try await group.waitForAll()
    }
    let read = try one.readRecords()
    #expect(read.skipped == 0)
    #expect(Set(read.records.compactMap { $0["feedback_id"]?.stringValue }) == Set((0..<100).map { "r\($0)" }))
  }
}
