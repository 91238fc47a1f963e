public import JSONRPC

/// `getConfig` -> `{"runtime_id": string or null, "session_id": "<conversation id>"}`,
/// OpenHands' `GET config`: the runtime id given on the command line or in the
/// config file, and the conversation's id as the session id.
public enum GetConfigRequest: BridgeRequest {
  public typealias Params = NoParams
  public struct Result: BridgeResult, Equatable {
    public var runtimeId: String?
    public var sessionId: String
    public init(runtimeId: String?, sessionId: String) {
      self.runtimeId = runtimeId
      self.sessionId = sessionId
    }
    public var json: JSONValue {
      ["runtime_id": runtimeId.map(JSONValue.string) ?? .null, "session_id": .string(sessionId)]
    }
    public static let examples = [
      Result(runtimeId: nil, sessionId: "0123456789abcdef0123456789abcdef"),
      Result(runtimeId: "runtime-1", sessionId: "chosen-id"),
    ]
  }

  public static let method = "getConfig"
  public static let summary = "The conversation's runtime id (null when none was given) and its id as session_id."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    ["runtime_id": Schema.nullableString, "session_id": Schema.string],
    required: ["runtime_id", "session_id"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "config")
}
