public import JSONRPC

/// `workspaceInfo` -> `{conversationId, workspace, gitRepository}`: what a
/// client needs to show the conversation's changes truthfully.
///
/// Editors anchor the relative paths of every answer to `workspace`, not to
/// their own current directory (which `:cd` or a project switch moves), and
/// read gitChanges' `[]` as "no changes" only when `gitRepository` is true;
/// otherwise the folder is not under git at all, which OpenHands' REST
/// answer (also `[]`) cannot tell apart.
public enum WorkspaceInfoRequest: BridgeRequest {
  public typealias Params = NoParams
  public struct Result: BridgeResult, Equatable {
    public var conversationId: String
    public var workspace: String
    public var gitRepository: Bool
    public init(conversationId: String, workspace: String, gitRepository: Bool) {
      self.conversationId = conversationId
      self.workspace = workspace
      self.gitRepository = gitRepository
    }
    public var json: JSONValue {
      ["conversationId": .string(conversationId), "workspace": .string(workspace), "gitRepository": .bool(gitRepository)]
    }
    public static let examples = [
      Result(conversationId: "0123456789abcdef0123456789abcdef", workspace: "/work/a", gitRepository: true),
      Result(conversationId: "second", workspace: "/work/b", gitRepository: false),
    ]
  }

  public static let method = "workspaceInfo"
  public static let summary =
    "The conversation's workspace (its real absolute path) and whether gitChanges consults any repository there."
  public static let paramsSchema: JSONValue = Schema.params([:])
  public static let resultSchema: JSONValue = Schema.object(
    [
      "conversationId": Schema.string,
      "workspace": Schema.string("The workspace's real absolute path: every relative path in answers is below it."),
      "gitRepository": [
        "type": "boolean",
        "description": .string(
          "True when the workspace is in a git repository or holds a depth-1 nested one, so gitChanges' [] means "
            + "no changes; false when it is not under git at all."),
      ],
    ], required: ["conversationId", "workspace", "gitRepository"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "workspace-info")
}
