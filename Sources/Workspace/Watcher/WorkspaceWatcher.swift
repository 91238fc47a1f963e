import Dispatch
import Git
import Support

/// Watches one workspace and delivers what changed in it, in batches.
///
/// On Linux the kernel tells it where to look (inotify, no polling); each
/// hint is settled by reading the directory again through the workspace's
/// descriptor walk and comparing with what it knew (`WorkspaceTree`). When
/// the kernel loses events (queue overflow) it reads everything again; when
/// it runs out of watches it adds a periodic full rescan; elsewhere, or with
/// `backend: .polling`, it only rescans periodically. Each fallback is said
/// once through `log` and kept in `state`.
///
/// Its own thread sleeps in `poll` until an event or a deadline: idle, it
/// costs nothing. `stop()` ends it promptly; so does the workspace being
/// deleted, which is delivered once as `{"path": "", "type": "deleted"}`.
public final class WorkspaceWatcher: Sendable {
  private let shared: WatcherShared

  /// Reads the whole workspace and places its watches before returning,
  /// so that every change made after `init` returns is delivered. Nil when
  /// the workspace cannot be read. With `git`, the directories its ignore
  /// rules leave out of listing and status are neither read nor watched
  /// (`IgnoredDirectories`); their content is not reported.
  ///
  /// - Parameters:
  ///   - log: a fallback, said once each (for stderr).
  ///   - deliver: each non-empty batch, on the watcher's thread, in order;
  ///     the next batch is gathered while it runs.
  public init?(
    root: WorkspaceRoot, git: GitWorkspace? = nil, options: WatcherOptions = WatcherOptions(),
    log: @escaping @Sendable (String) -> Void = { _ in },
    deliver: @escaping @Sendable (WatchBatch) -> Void
  ) {
    guard let shared = WatcherShared() else { return nil }
    self.shared = shared
    let loop = WatchLoop(root: root, git: git, options: options, shared: shared, log: log, deliver: deliver)
    guard loop.start() else { return nil }
    let handed = UncheckedBox(loop)
    Parallel.detach { handed.value.run() }
  }

  deinit { stop() }

  public var state: WatchState { shared.state.withLock { $0 } }

  /// Delivers, before returning, every change made before the call (that
  /// the kernel reports: with `mode` `.events`), without waiting out the
  /// debounce. False when the watcher has stopped or did not answer within
  /// `timeout`, or `isCancelled` (polled every few milliseconds) said
  /// so; then nothing is promised.
  public func sync(timeout: Duration = .seconds(5), isCancelled: () -> Bool = { false }) -> Bool {
    guard !shared.isStopped, let semaphore = shared.requestSync() else { return false }
    let deadline = ContinuousClock.now + timeout
    // In slices, so that a cancelled request does not hold its thread.
    while semaphore.wait(timeout: .now() + .milliseconds(20)) != .success {
      if isCancelled() || ContinuousClock.now >= deadline { return false }
    }
    return !shared.isStopped
  }

  /// Stops watching; no batch is delivered after the one running, if any.
  public func stop() { shared.stop() }
}
