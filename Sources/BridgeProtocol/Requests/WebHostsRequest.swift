public import JSONRPC

/// `webHosts` -> `{"hosts": {"<url>": port}}`, OpenHands' `GET web-hosts`:
/// the web servers the agent runs, in the order they were configured.
public enum WebHostsRequest: BridgeRequest {
  public typealias Params = NoParams
  public struct Result: BridgeResult {
    /// In the order they were configured.
    public var hosts: [(url: String, port: Int)]
    public init(hosts: [(url: String, port: Int)]) { self.hosts = hosts }
    public var json: JSONValue {
      ["hosts": .object(JSONObject(hosts.map { (key: $0.url, value: JSONValue.int(Int64($0.port))) }))]
    }
    public static let examples = [
      Result(hosts: []), Result(hosts: [("http://localhost:8011", 8011), ("http://localhost:8012", 8012)]),
    ]
  }

  public static let method = "webHosts"
  public static let summary = "The web hosts the agent serves, URL -> port ({} when none)."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    ["hosts": ["type": "object", "additionalProperties": Schema.integer]], required: ["hosts"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "web-hosts")
}
