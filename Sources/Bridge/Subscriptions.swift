import BridgeProtocol
import Git
import JSONRPC
import Logging
import Synchronization
import Workspace

/// Clients subscribed to workspace changes, and the one watcher each
/// watched conversation has (started by its first subscriber, stopped with
/// its last, or when the conversation closes).
///
/// Each batch from a watcher becomes at most one `workspace/filesChanged`
/// per subscriber that asked for files, and, for those that asked for git,
/// one `workspace/gitChanged` carrying exactly what `gitChanges` answers
/// now, computed once per batch and sent only when it differs from the
/// last one that subscriber got. Notifications are sent under the lock, so
/// none follows an `unsubscribe` reply and each subscriber sees them in order.
public final class Subscriptions: Sendable {
  struct Subscriber {
    let id: String
    let conversationId: String
    let events: Set<SubscribeRequest.Event>
    let sink: any NotificationSink
    /// Until the subscribe reply is out, what it is sent waits here, so
    /// that no notification precedes the reply that names it.
    var held: [(method: String, params: JSONValue)]? = []
    /// The changes of the last gitChanged it was sent.
    var lastGit: [GitChange]?
  }

  struct Watched {
    let watcher: WorkspaceWatcher
    /// The real path it watches.
    let workspace: String
    /// gitChanges from what the watcher saw change.
    let tracker: GitChangeTracker
    var subscribers: Set<String>
  }

  struct State {
    var subscribers: [String: Subscriber] = [:]
    var watched: [String: Watched] = [:]
    var next = 1
  }

  private let state = Mutex(State())
  private let debounce: Duration
  private let maxBacklogBytes: Int
  private let maxQueuedEvents: Int?
  private let logger: Logger

  init(debounce: Duration, maxBacklogBytes: Int, maxQueuedEvents: Int? = nil, logger: Logger) {
    self.debounce = debounce
    self.maxBacklogBytes = maxBacklogBytes
    self.maxQueuedEvents = maxQueuedEvents
    self.logger = logger
  }

  /// Subscribers now, for tests and logs.
  public var count: Int { state.withLock { $0.subscribers.count } }

  /// Registers a subscriber (held until `activate`), starting the
  /// conversation's watcher if it has none. Blocks for the watcher's first
  /// read of the workspace.
  func subscribe(
    _ conversation: Conversation, events: Set<SubscribeRequest.Event>, sink: any NotificationSink
  ) throws(ResponseError) -> String {
    let running = state.withLock { $0.watched[conversation.id] != nil }
    // Started outside the lock: the first read takes as long as the tree is big.
    var started: (watcher: WorkspaceWatcher, tracker: GitChangeTracker)?
    if !running {
      let id = conversation.id
      let workspace = conversation.workspace
      let tracker = GitChangeTracker(watched: conversation.git)
      let logger = self.logger
      started = WorkspaceWatcher(
        root: WorkspaceRoot(realPath: workspace), git: conversation.git,
        // Writes made through a network or FUSE file system reach no
        // inotify watch here: only rescans see them.
        options: WatcherOptions(
          backend: RemoteFileSystem.holds(workspace) ? .polling : .automatic, debounce: debounce,
          maxQueuedEvents: maxQueuedEvents),
        log: { logger.warning("watching \(workspace): \($0)") },
        deliver: { [weak self] batch in self?.deliver(batch, conversationId: id, tracker: tracker) }
      ).map { ($0, tracker) }
      guard started != nil else {
        throw BridgeError.internalError("Cannot watch the workspace: \(workspace) cannot be read")
      }
    }
    let (id, extra) = state.withLock { state -> (String, WorkspaceWatcher?) in
      let id = "s\(state.next)"
      state.next += 1
      state.subscribers[id] = Subscriber(id: id, conversationId: conversation.id, events: events, sink: sink)
      var extra: WorkspaceWatcher?
      if var watched = state.watched[conversation.id] {
        // Another subscribe started one meanwhile: keep that one.
        extra = started?.watcher
        watched.subscribers.insert(id)
        state.watched[conversation.id] = watched
      } else if let started {
        state.watched[conversation.id] = Watched(
          watcher: started.watcher, workspace: conversation.workspace, tracker: started.tracker, subscribers: [id])
      }
      return (id, extra)
    }
    extra?.stop()
    return id
  }

  /// The first gitChanged of a subscriber, unless a batch got one to it first.
  func setInitialGit(_ id: String, _ changes: [GitChange]) {
    state.withLock { state in
      guard var subscriber = state.subscribers[id], subscriber.lastGit == nil else { return }
      subscriber.lastGit = changes
      let first = (
        method: ServerNotifications.gitChanged, params: Self.params(subscriber, GitChangesRequest.Result(git: changes).json)
      )
      subscriber.held?.insert(first, at: 0)
      state.subscribers[id] = subscriber
    }
  }

  /// Sends what was held for a subscriber; from now on it is sent at once.
  func activate(_ id: String) {
    state.withLock { state in
      guard var subscriber = state.subscribers[id], let held = subscriber.held else { return }
      subscriber.held = nil
      for notification in held { subscriber.sink.notify(notification.method, params: notification.params) }
      state.subscribers[id] = subscriber
    }
  }

  /// False when there is no such subscription.
  func unsubscribe(_ id: String) -> Bool {
    let (found, idle) = state.withLock { state -> (Bool, WorkspaceWatcher?) in
      guard let subscriber = state.subscribers.removeValue(forKey: id) else { return (false, nil) }
      return (true, Self.leave(&state, subscriber))
    }
    idle?.stop()
    return found
  }

  /// Drops every subscription of a conversation and stops its watcher.
  func close(conversationId: String) {
    let watcher = state.withLock { state -> WorkspaceWatcher? in
      guard let watched = state.watched.removeValue(forKey: conversationId) else { return nil }
      for id in watched.subscribers { state.subscribers[id] = nil }
      return watched.watcher
    }
    watcher?.stop()
  }

  /// What `gitChanges` (no ref) answers now for a watched conversation,
  /// from the paths its watcher saw change; nil when it is not watched,
  /// or its watcher watches another workspace than `workspace`.
  /// Waits for the watcher to deliver every change made before the call.
  func gitChanges(
    conversationId: String, workspace: String, isCancelled: @escaping @Sendable () -> Bool = { false }
  ) -> Result<[GitChange], GitChangesError>? {
    guard let watched = state.withLock({ $0.watched[conversationId] }), watched.workspace == workspace else {
      return nil
    }
    if !watched.watcher.sync(isCancelled: isCancelled) {
      if isCancelled() { return .failure(.cancelled) }
      watched.tracker.invalidateAll()
    }
    return Self.collect(watched.tracker, watcher: watched.watcher, isCancelled: isCancelled)
  }

  /// The tracker's answer, everything compared again unless the watcher
  /// has a kernel watch on every directory (polling, or past the watch
  /// limit, changes between two rescans are not told).
  private static func collect(
    _ tracker: GitChangeTracker, watcher: WorkspaceWatcher, isCancelled: @escaping @Sendable () -> Bool = { false }
  ) -> Result<[GitChange], GitChangesError> {
    if watcher.state.mode != .events { tracker.invalidateAll() }
    return Result { () throws(GitChangesError) in try tracker.collect(isCancelled: isCancelled) }
  }

  /// The watcher of a conversation's state, when it is watched.
  public func watchState(conversationId: String) -> WatchState? {
    state.withLock { $0.watched[conversationId]?.watcher.state }
  }

  // MARK: Delivering

  private func deliver(_ batch: WatchBatch, conversationId: String, tracker: GitChangeTracker) {
    tracker.note(batch)
    if batch.stateChanged, let watcher = state.withLock({ $0.watched[conversationId]?.watcher }) {
      let watchState = Self.reported(watcher.state).json
      send(to: conversationId) { subscriber in
        [(ServerNotifications.watchState, Self.params(subscriber, key: "state", watchState))]
      }
    }
    // Files first: they need no git status, which can take a while.
    if !batch.changes.isEmpty {
      let files: JSONValue = .array(
        batch.changes.map { ["path": .string($0.path), "type": .string($0.kind.rawValue)] })
      send(to: conversationId) { subscriber in
        subscriber.events.contains(.files) ? [(ServerNotifications.filesChanged, Self.params(subscriber, files))] : []
      }
    }
    // A deleted workspace has no status to tell; its one filesChanged says it all.
    if batch.workspaceDeleted { return }
    let wantsGit = state.withLock { state in
      state.watched[conversationId]?.subscribers.contains { state.subscribers[$0]?.events.contains(.git) == true }
        ?? false
    }
    // Computed outside the lock, on the watcher's thread: while it runs the
    // next batch gathers, which is the coalescing a slow status needs.
    guard wantsGit, let watcher = state.withLock({ $0.watched[conversationId]?.watcher }),
      case .success(let changes) = Self.collect(tracker, watcher: watcher)
    else { return }
    // Written once, for the first subscriber whose last one differs.
    var json: JSONValue?
    send(to: conversationId) { subscriber in
      guard subscriber.events.contains(.git), changes != subscriber.lastGit else { return [] }
      subscriber.lastGit = changes
      let git = json ?? GitChangesRequest.Result(git: changes).json
      json = git
      return [(ServerNotifications.gitChanged, Self.params(subscriber, git))]
    }
  }

  /// Sends each subscriber of a conversation what `make` gives it (held
  /// while its subscribe reply is not out), dropping those whose client has
  /// stopped reading.
  private func send(
    to conversationId: String, _ make: (inout Subscriber) -> [(method: String, params: JSONValue)]
  ) {
    var dropped: [(id: String, backlog: Int, sink: any NotificationSink)] = []
    let idle = state.withLock { state -> [WorkspaceWatcher] in
      guard let watched = state.watched[conversationId] else { return [] }
      var idle: [WorkspaceWatcher] = []
      for id in watched.subscribers.sorted() {
        guard var subscriber = state.subscribers[id] else { continue }
        let notifications = make(&subscriber)
        if notifications.isEmpty {
          state.subscribers[id] = subscriber
          continue
        }
        if subscriber.held != nil {
          subscriber.held?.append(contentsOf: notifications)
          state.subscribers[id] = subscriber
          continue
        }
        let backlog = subscriber.sink.backlogBytes
        if backlog > maxBacklogBytes {
          // A client that stopped reading: its notifications would only
          // pile up in memory.
          state.subscribers[id] = nil
          dropped.append((id, backlog, subscriber.sink))
          if let watcher = Self.leave(&state, subscriber) { idle.append(watcher) }
          continue
        }
        for notification in notifications { subscriber.sink.notify(notification.method, params: notification.params) }
        state.subscribers[id] = subscriber
      }
      return idle
    }
    for (id, backlog, sink) in dropped {
      logger.warning(
        "dropped subscription \(id): its client has \(backlog) bytes unread, over the \(maxBacklogBytes)-byte limit")
      sink.subscriptionDropped(id)
    }
    for watcher in idle { watcher.stop() }
  }

  /// Removes a subscriber from its conversation's watcher; the watcher when
  /// it has no subscriber left (to stop, outside the lock).
  private static func leave(_ state: inout State, _ subscriber: Subscriber) -> WorkspaceWatcher? {
    guard var watched = state.watched[subscriber.conversationId] else { return nil }
    watched.subscribers.remove(subscriber.id)
    if watched.subscribers.isEmpty {
      state.watched[subscriber.conversationId] = nil
      return watched.watcher
    }
    state.watched[subscriber.conversationId] = watched
    return nil
  }

  private static func params(_ subscriber: Subscriber, key: String = "changes", _ value: JSONValue) -> JSONValue {
    .object([
      "subscriptionId": .string(subscriber.id), "conversationId": .string(subscriber.conversationId), key: value,
    ])
  }

  /// A conversation's watcher state as `subscribe` and `workspace/watchState` carry it.
  func reportedState(conversationId: String) -> SubscribeRequest.State {
    Self.reported(watchState(conversationId: conversationId) ?? WatchState(mode: .stopped))
  }

  private static func reported(_ state: WatchState) -> SubscribeRequest.State {
    let mode: SubscribeRequest.State.Mode
    switch state.mode {
    case .events: mode = .watching
    case .eventsWithPeriodicRescan: mode = .rescanning
    case .polling: mode = .polling
    case .stopped: mode = .stopped
    }
    return SubscribeRequest.State(mode: mode, overflows: state.overflows, notes: state.notes)
  }

  /// What gitChanges (no ref) answers now; nil when it fails
  /// (the workspace deleted, say), so that nothing wrong is pushed.
  func gitChanges(_ conversation: Conversation) -> [GitChange]? {
    let result = gitChanges(conversationId: conversation.id, workspace: conversation.workspace) ?? Result { () throws(GitChangesError) in
      try GitChanges.collect(workspace: conversation.git, ref: nil)
    }
    guard case .success(let changes) = result else { return nil }
    return changes
  }
}
