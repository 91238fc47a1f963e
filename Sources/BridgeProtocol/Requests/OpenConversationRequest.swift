public import JSONRPC

/// `openConversation` {workspace, conversationId?} -> {conversationId}.
public enum OpenConversationRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var workspace: String
    public var conversationId: String?
  }
  public struct Result: BridgeResult, Equatable {
    public var conversationId: String
    public init(conversationId: String) { self.conversationId = conversationId }
    public var json: JSONValue { ["conversationId": .string(conversationId)] }
    public static let examples = [Result(conversationId: "second")]
  }

  public static let method = "openConversation"
  public static let summary = "Open a conversation on a workspace directory."
  public static let takesConversation = false
  public static let paramsSchema: JSONValue = Schema.object(
    [
      "workspace": Schema.string("Directory of the workspace."),
      "conversationId": Schema.string("Id to use; derived from the workspace path when absent."),
    ], required: ["workspace"])
  public static let resultSchema: JSONValue = Schema.object(
    ["conversationId": Schema.string], required: ["conversationId"], additional: false)

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    return Params(workspace: try reader.string("workspace"), conversationId: try reader.optionalString("conversationId"))
  }
}
