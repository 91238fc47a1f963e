public import JSONRPC

/// `getConfig` -> `{"runtime_id": string or null, "session_id": "<conversation id>"}`,
/// OpenHands' `GET config`: the runtime id given on the command line or in the
/// config file, and the conversation's id as the session id.
public enum GetConfigRequest: BridgeRequest {
  public typealias Params = NoParams
  public typealias Result = JSONValue

  public static let method = "getConfig"
  public static let summary = "The conversation's runtime id (null when none was given) and its id as session_id."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    ["runtime_id": Schema.nullableString, "session_id": Schema.string],
    required: ["runtime_id", "session_id"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "config")
}
