public import JSONRPC

/// `health` -> `"OK"`, the JSON string OpenHands' `GET /health` answers.
public enum HealthRequest: BridgeRequest {
  public typealias Params = NoParams
  /// Always the JSON string `"OK"`.
  public struct Result: BridgeResult, Equatable {
    public init() {}
    public var json: JSONValue { "OK" }
    public static let examples = [Result()]
  }

  public static let method = "health"
  public static let summary = "Liveness: always the JSON string \"OK\"."
  public static let resultSchema: JSONValue = Schema.constant("OK")
  public static let http: HTTPRoute? = HTTPRoute(.get, .root, "health")
  public static let takesConversation = false
}
