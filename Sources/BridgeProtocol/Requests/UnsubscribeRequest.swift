public import JSONRPC

/// `unsubscribe` {subscriptionId} -> null: no notification of it is sent
/// after the reply. Unknown ids are -32602.
public enum UnsubscribeRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var subscriptionId: String
    public init(subscriptionId: String) { self.subscriptionId = subscriptionId }
  }
  public typealias Result = NullResult

  public static let method = "unsubscribe"
  public static let summary = "End a subscription made with subscribe; its watcher stops with its last subscriber."
  public static let takesConversation = false
  public static let errors: [BridgeErrorCode] = [.invalidParams]
  public static let paramsSchema: JSONValue = Schema.object(
    ["subscriptionId": Schema.string], required: ["subscriptionId"])
  public static let resultSchema: JSONValue = Schema.null

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    Params(subscriptionId: try ParamsReader(params).string("subscriptionId"))
  }
}
