public import JSONRPC

/// `subscribe` {events: ["files", "git"], conversationId?} -> {subscriptionId,
/// state}: the workspace is watched from now on, and its changes are pushed as
/// `workspace/filesChanged` and `workspace/gitChanged` notifications, the
/// watcher's fallbacks as `workspace/watchState` (see `ServerNotifications`). Needs a connection that carries notifications
/// (stdio): over `POST /api/jsonrpc` or `agent-bridge call` it is -32600.
public enum SubscribeRequest: BridgeRequest {
  public enum Event: String, Sendable, CaseIterable {
    case files, git
  }

  public struct Params: Sendable, Equatable {
    public var events: Set<Event>
    public init(events: Set<Event>) { self.events = events }
  }
  /// How the subscription's watcher keeps up (`ServerNotifications.watchStateSchema`):
  /// in the reply, and in every `workspace/watchState`.
  public struct State: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
      /// Kernel events (inotify) on every directory.
      case watching
      /// Events where watches could be placed, plus a full rescan every 2 s.
      case rescanning
      /// A full rescan every 2 s only.
      case polling
      /// The workspace was deleted (or nothing watches it).
      case stopped
    }
    public var mode: Mode
    public var overflows: Int
    /// The fallbacks taken, in words.
    public var notes: [String]
    public init(mode: Mode, overflows: Int = 0, notes: [String] = []) {
      self.mode = mode
      self.overflows = overflows
      self.notes = notes
    }
    public var json: JSONValue {
      ["mode": .string(mode.rawValue), "overflows": .int(Int64(overflows)), "notes": .array(notes.map { .string($0) })]
    }
  }

  public struct Result: BridgeResult, Equatable {
    public var subscriptionId: String
    public var state: State
    public init(subscriptionId: String, state: State) {
      self.subscriptionId = subscriptionId
      self.state = state
    }
    public var json: JSONValue { ["subscriptionId": .string(subscriptionId), "state": state.json] }
    public static let examples = [
      Result(subscriptionId: "sub-1", state: State(mode: .watching)),
      Result(
        subscriptionId: "sub-2",
        state: State(
          mode: .rescanning, overflows: 2,
          notes: ["fs.inotify.max_user_watches ran out: events where watched, a full rescan every 2 s"])),
      Result(subscriptionId: "sub-3", state: State(mode: .polling, notes: ["no inotify: a full rescan every 2 s"])),
      Result(subscriptionId: "sub-4", state: State(mode: .stopped)),
    ]
  }

  public static let method = "subscribe"
  public static let summary =
    "Watch the workspace and push its changes: workspace/filesChanged and workspace/gitChanged notifications, "
    + "and workspace/watchState when the watcher falls back (stdio only)."
  public static let errors: [BridgeErrorCode] = [.invalidRequest, .invalidParams, .conversationNotFound]

  public static let paramsSchema: JSONValue = Schema.params(
    [
      "events": [
        "type": "array", "items": Schema.enumeration(Event.allCases.map(\.rawValue)), "minItems": 1,
        "uniqueItems": true,
        "description": .string(
          "files: workspace/filesChanged; git: workspace/gitChanged (one at once, then one whenever gitChanges"
            + " would answer differently)."),
      ]
    ], required: ["events"])

  public static let resultSchema: JSONValue = Schema.object(
    [
      "subscriptionId": Schema.string("Names the subscription in its notifications and in unsubscribe."),
      "state": ServerNotifications.watchStateSchema,
    ],
    required: ["subscriptionId", "state"], additional: false)

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    guard let value = reader["events"], !value.isNull else { throw reader.missing("events") }
    guard case .array(let elements) = value, !elements.isEmpty else {
      throw BridgeError.invalidParams(
        field: "events", type: "value_error", message: "events must be a non-empty list of 'files' and 'git'",
        input: value, location: reader.location)
    }
    var events: Set<Event> = []
    for element in elements {
      guard case .string(let name) = element, let event = Event(rawValue: name) else {
        throw BridgeError.invalidParams(
          field: "events", type: "enum", message: "Input should be 'files' or 'git'", input: element,
          location: reader.location)
      }
      events.insert(event)
    }
    return Params(events: events)
  }
}
