import BridgeProtocol
import JSONRPC
import Logging
import Synchronization

/// Maps methods to handlers, for stdio and HTTP alike, and keeps the
/// LSP-style lifecycle.
///
/// Routing happens on the connection's reader thread in arrival order, so
/// lifecycle changes (initialize naming the workspace, shutdown) apply before
/// the next message is looked at. Handlers registered `inline` are trivial
/// and answer right there; all others run concurrently in their own task.
public final class Dispatcher: RequestHandler, Sendable {
  public let options: BridgeOptions
  public let conversations: ConversationStore
  public let logger: Logger
  /// submitFeedback's durable store; untouched on disk until the first record.
  public let feedback: FeedbackStore
  /// Forwards stored feedback to `--feedback-url`, when one is set.
  public let feedbackForwarder: FeedbackForwarder?
  /// Clients subscribed to workspace changes, and their watchers.
  public let subscriptions: Subscriptions
  /// Inline archives are built one at a time, whatever the door.
  let inlineArchives = TurnGate()
  let handlers: [String: Handler]
  private let lifecycle = Mutex(Lifecycle())
  private let onExit: @Sendable (Int32) -> Void
  /// `rpc.discover`'s answer, made when first asked (a static is
  /// initialised on first use): most processes never ask, and building it
  /// was a twentieth of a one-shot `call`'s CPU before its first reply.
  private static let discoverDocument = OpenRPC.document(serverVersion: BridgeVersion.version)

  struct Lifecycle {
    var initialized = false
    var shutdown = false
  }

  /// - Parameters:
  ///   - options: the command line's options; the default conversation is
  ///     opened from them.
  ///   - onExit: called for the `exit` notification with the exit code; it
  ///     flushes the writer and ends the process.
  public init(
    options: BridgeOptions, logger: Logger = Logger(label: "agent-bridge"),
    onExit: @escaping @Sendable (Int32) -> Void = { _ in }
  ) throws(ResponseError) {
    guard let real = Conversation.realDirectory(options.workspace) else {
      throw ResponseError(
        code: .invalidParams, message: "Workspace is not a directory: \(options.workspace)")
    }
    let id = options.conversationId ?? Conversation.stableId(forWorkspace: real)
    self.options = options
    let conversations = ConversationStore(
      default: Conversation(id: id, workspace: real, runtime: options.runtime))
    for configured in options.conversations {
      conversations.open(try Self.conversation(configured, besides: conversations))
    }
    self.conversations = conversations
    self.logger = logger
    let feedback = FeedbackStore(directory: options.resolvedStateDirectory)
    self.feedback = feedback
    if let url = options.feedbackURL {
      self.feedbackForwarder = try FeedbackForwarder(
        store: feedback, url: url, trustRootsFile: options.feedbackCAFile, backoff: options.feedbackBackoff,
        logger: logger)
    } else {
      self.feedbackForwarder = nil
    }
    self.onExit = onExit
    self.subscriptions = Subscriptions(
      debounce: options.debounce, maxBacklogBytes: options.maxSubscriberBacklogBytes,
      maxQueuedEvents: options.watcherMaxQueuedEvents, logger: logger)
    var table = HandlerTable()
    LifecycleHandlers.register(into: &table)
    ConversationHandlers.register(into: &table)
    RuntimeHandlers.register(into: &table)
    FeedbackHandlers.register(into: &table)
    FileHandlers.register(into: &table)
    GitHandlers.register(into: &table)
    SubscriptionHandlers.register(into: &table)
    self.handlers = table.entries
    // Resume forwarding what earlier runs stored but did not deliver.
    feedbackForwarder?.start()
  }

  deinit { feedbackForwarder?.stop() }

  /// A configured conversation, checked as openConversation checks one.
  static func conversation(
    _ configured: ConversationConfig, besides store: ConversationStore
  ) throws(ResponseError) -> Conversation {
    guard let real = Conversation.realDirectory(configured.workspace) else {
      throw ResponseError(code: .invalidParams, message: "Workspace is not a directory: \(configured.workspace)")
    }
    let id = configured.id ?? Conversation.stableId(forWorkspace: real)
    guard ConversationHandlers.isValidId(id) else {
      throw ResponseError(
        code: .invalidParams,
        message: "Conversation id '\(id)' is not 1 to 100 characters of letters, digits, '-' and '_'")
    }
    if (try? store.conversation(id)) != nil {
      throw ResponseError(code: .invalidParams, message: "Conversation id '\(id)' is given twice (\(real))")
    }
    return Conversation(id: id, workspace: real, runtime: configured.runtime)
  }

  /// Methods that have a handler, for tests that hold the registry to it.
  public var handledMethods: Set<String> { Set(handlers.keys) }

  // MARK: RequestHandler

  public func route(_ request: IncomingRequest) -> Handling {
    let state = lifecycle.withLock { $0 }
    if state.shutdown {
      return .answer(
        .failure(BridgeError.invalidRequest("Server is shut down: only the exit notification is accepted")))
    }
    if options.strict && !state.initialized && request.method != InitializeRequest.method {
      return .answer(
        .failure(ResponseError(code: .serverNotInitialized, message: "Server not initialized: send initialize first")))
    }
    if request.method == "rpc.discover" {
      return .answer(.success(Self.discoverDocument))
    }
    return route(method: request.method, params: request.params, context: RequestContext(request: request))
  }

  public func notify(method: String, params: JSONValue?) {
    switch method {
    case "exit":
      let code: Int32 = lifecycle.withLock { $0.shutdown } ? 0 : 1
      onExit(code)
    case "initialized":
      break
    default:
      // Unknown notifications are ignored, as JSON-RPC requires (no reply).
      logger.debug("ignored notification", metadata: ["method": "\(method)"])
    }
  }

  /// Runs one method to its result, as the HTTP adapter and `call` do: no
  /// lifecycle, no connection.
  public func call(
    method: String, params: JSONValue?, context: RequestContext? = nil
  ) async -> Result<JSONValue, ResponseError> {
    let context =
      context ?? RequestContext(request: IncomingRequest(id: .number(0), method: method, params: params))
    if method == "rpc.discover" { return .success(Self.discoverDocument) }
    return await route(method: method, params: params, context: context)
      .reply(context: context, errors: BridgeError.protocolErrors)
  }

  private func route(method: String, params: JSONValue?, context: RequestContext) -> Handling {
    guard let handler = handlers[method] else {
      return .answer(.failure(BridgeError.methodNotFound(method)))
    }
    return handler.route(params, context, self)
  }

  // MARK: Lifecycle state, for the lifecycle handlers

  var isInitialized: Bool { lifecycle.withLock { $0.initialized } }

  func markInitialized() { lifecycle.withLock { $0.initialized = true } }

  func markShutdown() { lifecycle.withLock { $0.shutdown = true } }
}
