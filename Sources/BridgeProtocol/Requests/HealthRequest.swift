public import JSONRPC

/// `health` -> `"OK"`, the JSON string OpenHands' `GET /health` answers.
public enum HealthRequest: BridgeRequest {
  public typealias Params = NoParams
  public typealias Result = JSONValue

  public static let method = "health"
  public static let summary = "Liveness: always the JSON string \"OK\"."
  public static let resultSchema: JSONValue = Schema.constant("OK")
  public static let http: HTTPRoute? = HTTPRoute(.get, .root, "health")
  public static let takesConversation = false
}
