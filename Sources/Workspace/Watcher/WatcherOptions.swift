/// How a watcher watches.
public struct WatcherOptions: Sendable {
  public enum Backend: Sendable {
    /// inotify on Linux, polling elsewhere.
    case automatic
    /// Periodic full rescans, whatever the platform.
    case polling
  }

  public var backend: Backend
  /// Events are gathered until none has come for this long (or for five
  /// times this long since the first), then delivered as one batch.
  public var debounce: Duration
  /// Between full rescans when polling, or when the watch limit ran out.
  public var rescanInterval: Duration
  /// Test hook: behave as if the kernel refused watches past this many
  /// (`ENOSPC`, as when `fs.inotify.max_user_watches` is exhausted).
  public var maxWatches: Int?
  /// Test hook: behave as if the kernel queue held only this many events
  /// between two deliveries (`IN_Q_OVERFLOW` past it).
  public var maxQueuedEvents: Int?

  public init(
    backend: Backend = .automatic, debounce: Duration = .milliseconds(50), rescanInterval: Duration = .seconds(2),
    maxWatches: Int? = nil, maxQueuedEvents: Int? = nil
  ) {
    self.backend = backend
    self.debounce = debounce
    self.rescanInterval = rescanInterval
    self.maxWatches = maxWatches
    self.maxQueuedEvents = maxQueuedEvents
  }
}
