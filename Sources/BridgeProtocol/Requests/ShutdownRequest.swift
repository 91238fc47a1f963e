public import JSONRPC

/// `shutdown` -> `null`. Every later request but the `exit` notification is
/// answered -32600.
public enum ShutdownRequest: BridgeRequest {
  public typealias Params = NoParams
  public typealias Result = NullResult

  public static let method = "shutdown"
  public static let summary = "Prepare to exit; later requests are refused."
  public static let resultSchema: JSONValue = Schema.null
  public static let takesConversation = false
}
