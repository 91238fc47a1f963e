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
  public typealias Result = JSONValue

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
