public import JSONRPC

/// The notifications the bridge sends on its own, with their params'
/// schemas: `initialize` lists them and `Protocol/openrpc.json` describes
/// them (`x-server-notifications`).
public enum ServerNotifications {
  public static let filesChanged = "workspace/filesChanged"
  public static let gitChanged = "workspace/gitChanged"
  public static let watchState = "workspace/watchState"

  /// How a subscription's watcher keeps up: in `subscribe`'s reply and in
  /// `workspace/watchState`.
  public static let watchStateSchema: JSONValue = Schema.object(
    [
      "mode": Schema.enumeration(
        SubscribeRequest.State.Mode.allCases.map(\.rawValue),
        description: "watching: kernel events (inotify) on every directory; rescanning: events where watches"
          + " could be placed plus a full rescan every 2 s (fs.inotify.max_user_watches ran out); polling: a"
          + " full rescan every 2 s only (no inotify); stopped: the workspace was deleted."),
      "overflows": [
        "type": "integer",
        "description": "Times the kernel's event queue overflowed; each was followed by a full rescan.",
      ],
      "notes": Schema.array(Schema.string("A fallback taken, in words (also logged once on stderr).")),
    ], required: ["mode", "overflows", "notes"], additional: false)
  public static let progress = "$/progress"

  public static let all: [(method: String, summary: String, params: JSONValue)] = [
    (
      progress,
      "{token, value: {kind: begin|report|end, title?, message?, percentage?}} for a request that sent"
        + " workDoneToken.",
      Schema.object(
        [
          "token": ["type": ["integer", "string"]],
          "value": Schema.object(
            [
              "kind": Schema.enumeration(["begin", "report", "end"]), "title": Schema.string,
              "message": Schema.string, "percentage": Schema.integer, "cancellable": Schema.boolean,
            ], required: ["kind"]),
        ], required: ["token", "value"])
    ),
    (
      filesChanged,
      "Paths created, changed or deleted in a subscribed workspace since the last one (a debounce window"
        + " each, each path once); directories end in '/'; {\"path\": \"\", \"type\": \"deleted\"} once when the"
        + " workspace itself is deleted.",
      Schema.object(
        [
          "subscriptionId": Schema.string, "conversationId": Schema.string,
          "changes": Schema.array(
            Schema.object(
              [
                "path": Schema.string("Relative to the workspace; a directory's ends in '/'."),
                "type": Schema.enumeration(["created", "changed", "deleted"]),
              ], required: ["path", "type"], additional: false)),
        ], required: ["subscriptionId", "conversationId", "changes"], additional: false)
    ),
    (
      gitChanged,
      "What gitChanges (no ref) answers now: sent once right after subscribe, then whenever it differs from"
        + " the last one sent.",
      Schema.object(
        [
          "subscriptionId": Schema.string, "conversationId": Schema.string,
          "changes": GitChangesRequest.resultSchema,
        ], required: ["subscriptionId", "conversationId", "changes"], additional: false)
    ),
    (
      watchState,
      "The watcher's state changed (a fallback taken, or one more overflow); the same object subscribe's"
        + " reply carries.",
      Schema.object(
        ["subscriptionId": Schema.string, "conversationId": Schema.string, "state": watchStateSchema],
        required: ["subscriptionId", "conversationId", "state"], additional: false)
    ),
  ]
}
