public import JSONRPC

/// `listConversations` -> [{conversationId, workspace}].
public enum ListConversationsRequest: BridgeRequest {
  public typealias Params = NoParams
  public typealias Result = JSONValue

  public static let method = "listConversations"
  public static let summary = "Every open conversation, the default first."
  public static let takesConversation = false
  public static let resultSchema: JSONValue = Schema.array(
    Schema.object(
      ["conversationId": Schema.string, "workspace": Schema.string], required: ["conversationId", "workspace"]))
}
