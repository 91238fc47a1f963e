public import JSONRPC

/// `listConversations` -> [{conversationId, workspace}].
public enum ListConversationsRequest: BridgeRequest {
  public typealias Params = NoParams
  public struct Result: BridgeResult, Equatable {
    public struct Entry: Sendable, Equatable {
      public var conversationId: String
      public var workspace: String
      public init(conversationId: String, workspace: String) {
        self.conversationId = conversationId
        self.workspace = workspace
      }
    }
    /// The default conversation first.
    public var conversations: [Entry]
    public init(conversations: [Entry]) { self.conversations = conversations }
    public var json: JSONValue {
      .array(conversations.map { ["conversationId": .string($0.conversationId), "workspace": .string($0.workspace)] })
    }
    public static let examples = [
      Result(conversations: [Entry(conversationId: "0123456789abcdef0123456789abcdef", workspace: "/work/a")]),
      Result(conversations: [
        Entry(conversationId: "0123456789abcdef0123456789abcdef", workspace: "/work/a"),
        Entry(conversationId: "second", workspace: "/work/b"),
      ]),
    ]
  }

  public static let method = "listConversations"
  public static let summary = "Every open conversation, the default first."
  public static let takesConversation = false
  public static let resultSchema: JSONValue = Schema.array(
    Schema.object(
      ["conversationId": Schema.string, "workspace": Schema.string], required: ["conversationId", "workspace"],
      additional: false))
}
