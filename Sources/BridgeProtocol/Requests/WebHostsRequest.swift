public import JSONRPC

/// `webHosts` -> `{"hosts": {"<url>": port}}`, OpenHands' `GET web-hosts`:
/// the web servers the agent runs, in the order they were configured.
public enum WebHostsRequest: BridgeRequest {
  public typealias Params = NoParams
  public typealias Result = JSONValue

  public static let method = "webHosts"
  public static let summary = "The web hosts the agent serves, URL -> port ({} when none)."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    ["hosts": ["type": "object", "additionalProperties": Schema.integer]], required: ["hosts"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "web-hosts")
}
