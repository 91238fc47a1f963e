/// How a watcher is keeping up, for the subscription's state and for logs.
public struct WatchState: Sendable, Equatable {
  public enum Mode: String, Sendable {
    /// Kernel events (inotify), no polling.
    case events
    /// Kernel events where watches could be placed, plus a periodic full
    /// rescan: the watch limit (`fs.inotify.max_user_watches`) ran out.
    case eventsWithPeriodicRescan
    /// Periodic full rescans only (no inotify on this platform, or none to be had).
    case polling
    /// Stopped: unsubscribed, or the workspace was deleted.
    case stopped
  }

  public var mode: Mode
  /// Directories with a kernel watch on them (git metadata included).
  public var watches: Int
  /// Times the kernel queue overflowed and a full rescan stood in for the lost events.
  public var overflows: Int
  public var workspaceDeleted: Bool
  /// Each fallback once, in words (also written once to stderr).
  public var notes: [String]

  public init(
    mode: Mode, watches: Int = 0, overflows: Int = 0, workspaceDeleted: Bool = false, notes: [String] = []
  ) {
    self.mode = mode
    self.watches = watches
    self.overflows = overflows
    self.workspaceDeleted = workspaceDeleted
    self.notes = notes
  }
}
