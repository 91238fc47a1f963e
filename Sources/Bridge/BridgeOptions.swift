/// Everything the command line (or a config file) sets for a bridge process.
public struct BridgeOptions: Sendable {
  /// The default conversation's workspace, as given (resolved at start).
  public var workspace: String
  /// The default conversation's id; derived from the workspace when nil.
  public var conversationId: String?
  /// `--strict`: requests before `initialize` are -32002, as LSP demands.
  public var strict = false
  /// `--max-file-bytes`: selectFile refuses larger files (-32015).
  public var maxFileBytes = 16 << 20
  /// `--max-inline-bytes`: zipDirectory without destination refuses larger archives.
  public var maxInlineBytes = 32 << 20
  /// Runtime facts served by getConfig, vscodeUrl and webHosts.
  public var runtime = RuntimeFacts()
  /// `--state-dir`: where the feedback store lives; nil = the XDG default.
  public var stateDirectory: String?
  /// `--feedback-url`: where feedback records are forwarded, if anywhere.
  public var feedbackURL: String?
  /// `--feedback-ca-file`: a PEM file whose certificates are the only roots
  /// trusted for an https `--feedback-url`; nil = the system's roots.
  public var feedbackCAFile: String?
  /// How forwarding retries a failing `--feedback-url`.
  public var feedbackBackoff = FeedbackForwarder.Backoff()
  /// `--debounce-ms`: a subscribed workspace's changes are gathered this
  /// long (while they keep coming, up to five times as long) into one
  /// notification.
  public var debounce: Duration = .milliseconds(50)
  /// A subscription whose client has more than this unread is dropped,
  /// rather than holding its notifications in memory.
  public var maxSubscriberBacklogBytes = 8 << 20
  /// Test hook: the watchers behave as if the kernel queue held only this
  /// many events (`WatcherOptions.maxQueuedEvents`), to force an overflow.
  public var watcherMaxQueuedEvents: Int?
  /// More conversations to open at start (from the config file), each with
  /// its own workspace and runtime facts.
  public var conversations: [ConversationConfig] = []

  /// Where the feedback store lives: `--state-dir`, else the XDG default.
  /// Nil when there is none (no `--state-dir`, `HOME` unset).
  public var resolvedStateDirectory: String? { stateDirectory ?? FeedbackStore.defaultDirectory() }

  public init(workspace: String) {
    self.workspace = workspace
  }
}

/// The facts about the agent's runtime that OpenHands serves per conversation.
public struct RuntimeFacts: Sendable, Equatable {
  public var runtimeId: String?
  public var vscodeURL: String?
  public var vscodeToken: String?
  /// URL -> port, in the order given.
  public var webHosts: [(url: String, port: Int)] = []

  public init() {}

  public static func == (lhs: RuntimeFacts, rhs: RuntimeFacts) -> Bool {
    lhs.runtimeId == rhs.runtimeId && lhs.vscodeURL == rhs.vscodeURL && lhs.vscodeToken == rhs.vscodeToken
      && lhs.webHosts.map(\.url) == rhs.webHosts.map(\.url) && lhs.webHosts.map(\.port) == rhs.webHosts.map(\.port)
  }
}

/// A conversation the process opens at start.
public struct ConversationConfig: Sendable, Equatable {
  /// Derived from the workspace's real path when nil.
  public var id: String?
  public var workspace: String
  public var runtime: RuntimeFacts

  public init(id: String? = nil, workspace: String, runtime: RuntimeFacts = RuntimeFacts()) {
    self.id = id
    self.workspace = workspace
    self.runtime = runtime
  }
}
