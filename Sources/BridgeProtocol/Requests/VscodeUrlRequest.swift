public import JSONRPC

/// `vscodeUrl` -> `{"vscode_url": string or null}`, OpenHands' `GET vscode-url`:
/// `BASE/?tkn=TOKEN&folder=WORKSPACE` (the folder percent-encoded),
/// `BASE/?folder=WORKSPACE` without a token, null without a base.
public enum VscodeUrlRequest: BridgeRequest {
  public typealias Params = NoParams
  public struct Result: BridgeResult, Equatable {
    public var vscodeURL: String?
    public init(vscodeURL: String?) { self.vscodeURL = vscodeURL }
    public var json: JSONValue { ["vscode_url": vscodeURL.map(JSONValue.string) ?? .null] }
    public static let examples = [
      Result(vscodeURL: nil), Result(vscodeURL: "http://localhost:8080/?tkn=t&folder=/workspace"),
    ]
  }

  public static let method = "vscodeUrl"
  public static let summary = "The URL of a VS Code server opened on the conversation's workspace, or null."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    ["vscode_url": Schema.nullableString], required: ["vscode_url"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "vscode-url")
}
