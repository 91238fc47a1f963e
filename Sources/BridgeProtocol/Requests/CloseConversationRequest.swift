public import JSONRPC

/// `closeConversation` {conversationId} -> null.
public enum CloseConversationRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var conversationId: String
  }
  public typealias Result = NullResult

  public static let method = "closeConversation"
  public static let summary = "Close a conversation opened with openConversation."
  public static let takesConversation = false
  public static let errors: [BridgeErrorCode] = [.conversationNotFound]
  public static let paramsSchema: JSONValue = Schema.object(
    ["conversationId": Schema.string], required: ["conversationId"])
  public static let resultSchema: JSONValue = Schema.null

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    Params(conversationId: try ParamsReader(params).string("conversationId"))
  }
}
