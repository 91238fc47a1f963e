import Bridge
import Foundation
import JSONRPC
import Testing

/// getConfig, vscodeUrl and webHosts through the dispatcher, compared as the
/// exact bytes a client receives.
@Suite struct RuntimeHandlerTests {
  let directory = TemporaryDirectory("runtime")

  func dispatcher(_ configure: (inout BridgeOptions) -> Void = { _ in }) throws -> Dispatcher {
    var options = BridgeOptions(workspace: directory.path)
    options.stateDirectory = directory.path + "/state"
    configure(&options)
    return try Dispatcher(options: options)
  }

  func call(_ dispatcher: Dispatcher, _ method: String, _ params: JSONValue? = nil) async -> Result<String, ResponseError> {
    await dispatcher.call(method: method, params: params).map { JSONWriter.string($0) }
  }

  @Test func unsetFactsAreNullNullAndEmpty() async throws {
    let dispatcher = try dispatcher()
    let id = dispatcher.conversations.defaultConversation.id
    #expect(try await call(dispatcher, "getConfig").get() == #"{"runtime_id":null,"session_id":"\#(id)"}"#)
    #expect(try await call(dispatcher, "vscodeUrl").get() == #"{"vscode_url":null}"#)
    #expect(try await call(dispatcher, "webHosts").get() == #"{"hosts":{}}"#)
  }

  @Test func factsFromTheOptions() async throws {
    let dispatcher = try dispatcher { options in
      options.conversationId = "75e98ef4d0044697bd457446897aa297"
      options.runtime.runtimeId = "rt-7f1c2d9a"
      options.runtime.vscodeURL = "http://localhost:41234"
      options.runtime.vscodeToken = "3f0c9d2e"
      options.runtime.webHosts = [("http://localhost:56789", 56789), ("http://localhost:51234", 51234)]
    }
    let workspace = dispatcher.conversations.defaultConversation.workspace
    #expect(
      try await call(dispatcher, "getConfig").get()
        == #"{"runtime_id":"rt-7f1c2d9a","session_id":"75e98ef4d0044697bd457446897aa297"}"#)
    #expect(
      try await call(dispatcher, "vscodeUrl").get()
        == #"{"vscode_url":"http://localhost:41234/?tkn=3f0c9d2e&folder=\#(workspace)"}"#)
    // Configured order is kept, not sorted.
    #expect(
      try await call(dispatcher, "webHosts").get()
        == #"{"hosts":{"http://localhost:56789":56789,"http://localhost:51234":51234}}"#)
  }

  @Test func vscodeURLWithoutTokenAndWithTrailingSlash() async throws {
    let dispatcher = try dispatcher { $0.runtime.vscodeURL = "https://code.example/" }
    let workspace = dispatcher.conversations.defaultConversation.workspace
    #expect(try await call(dispatcher, "vscodeUrl").get() == #"{"vscode_url":"https://code.example/?folder=\#(workspace)"}"#)
  }

  @Test func vscodeURLPercentEncodesTheFolderAndToken() throws {
    let url = vscodeURL(base: "http://h:1", token: "a/b&c=d", folder: "/home/me/my project/é&x?#%")
    #expect(url == "http://h:1/?tkn=a%2Fb%26c%3Dd&folder=/home/me/my%20project/%C3%A9%26x%3F%23%25")
  }

  /// The same encoding through a real workspace whose path needs it.
  @Test func vscodeURLForAWorkspaceWithSpaces() async throws {
    let spaced = directory.path + "/a b&c"
    try FileManager.default.createDirectory(atPath: spaced, withIntermediateDirectories: true)
    let dispatcher = try dispatcher {
      $0.workspace = spaced
      $0.runtime.vscodeURL = "http://localhost:1"
      $0.runtime.vscodeToken = "t"
    }
    let real = dispatcher.conversations.defaultConversation.workspace
    #expect(real.hasSuffix("/a b&c"))
    let encoded = real.replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "&", with: "%26")
    #expect(try await call(dispatcher, "vscodeUrl").get() == #"{"vscode_url":"http://localhost:1/?tkn=t&folder=\#(encoded)"}"#)
  }

  @Test func eachConversationHasItsOwnFacts() async throws {
    let other = directory.path + "/other"
    try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
    var facts = RuntimeFacts()
    facts.runtimeId = "rt-2"
    facts.vscodeURL = "http://localhost:2"
    facts.webHosts = [("http://localhost:3000", 3000)]
    let dispatcher = try dispatcher { options in
      options.runtime.runtimeId = "rt-1"
      options.conversations = [ConversationConfig(id: "second", workspace: other, runtime: facts)]
    }
    let params: JSONValue = ["conversationId": "second"]
    #expect(try await call(dispatcher, "getConfig", params).get() == #"{"runtime_id":"rt-2","session_id":"second"}"#)
    #expect(try await call(dispatcher, "webHosts", params).get() == #"{"hosts":{"http://localhost:3000":3000}}"#)
    let real = try #require(Conversation.realDirectory(other))
    #expect(try await call(dispatcher, "vscodeUrl", params).get() == #"{"vscode_url":"http://localhost:2/?folder=\#(real)"}"#)
    // The default keeps its own.
    #expect(try await call(dispatcher, "getConfig").get().contains(#""runtime_id":"rt-1""#))
  }

  @Test(arguments: ["getConfig", "vscodeUrl", "webHosts", "submitFeedback"])
  func unknownConversationIs32001(method: String) async throws {
    let dispatcher = try dispatcher()
    let result = await dispatcher.call(method: method, params: ["conversationId": "nope", "polarity": "positive"])
    let error = try #require(result.failure)
    #expect(error.code.rawValue == -32001)
    #expect(error.data == ["httpStatus": 404, "body": ["detail": "Conversation nope not found"]])
  }

  @Test(arguments: ["getConfig", "vscodeUrl", "webHosts"])
  func paramsMustBeAnObjectAndIdAString(method: String) async throws {
    let dispatcher = try dispatcher()
    let notObject = try #require(await dispatcher.call(method: method, params: [1]).failure)
    #expect(notObject.code.rawValue == -32602)
    let badId = try #require(await dispatcher.call(method: method, params: ["conversationId": 5]).failure)
    #expect(badId.code.rawValue == -32602)
    #expect(badId.data?["body"]?["detail"]?.arrayValue?.first?["loc"] == ["query", "conversationId"])
    // Absent, null and {} are all fine.
    for params: JSONValue? in [nil, .null, [:]] {
      #expect(await dispatcher.call(method: method, params: params).failure == nil)
    }
  }

  @Test func configuredConversationsAreChecked() throws {
    #expect(throws: ResponseError.self) {
      try dispatcher { $0.conversations = [ConversationConfig(workspace: directory.path + "/missing")] }
    }
    #expect(throws: ResponseError.self) {
      try dispatcher { $0.conversations = [ConversationConfig(id: "bad id!", workspace: directory.path)] }
    }
    // The default conversation's id given again.
    #expect(throws: ResponseError.self) {
      try dispatcher {
        $0.conversationId = "same"
        $0.conversations = [ConversationConfig(id: "same", workspace: directory.path)]
      }
    }
  }
}

func vscodeURL(base: String?, token: String?, folder: String) -> String? {
  var facts = RuntimeFacts()
  facts.vscodeURL = base
  facts.vscodeToken = token
  return facts.vscodeURL(folder: folder)
}

extension Result {
  var failure: Failure? {
    if case .failure(let error) = self { error } else { nil }
  }
}
