/// What a watcher saw between two deliveries (one debounce window).
public struct WatchBatch: Sendable, Equatable {
  /// Each path at most once, in code-point path order.
  public var changes: [WatchChange]
  /// A repository's `HEAD`, `index` or refs changed (or a `.git` came or
  /// went): git status may differ although no working-tree file did.
  public var gitMetadataChanged: Bool
  /// The changes come from a full rescan (after an overflow, or a periodic
  /// one), not from individual events.
  public var rescanned: Bool
  /// The workspace itself is gone; `changes` is the one `{"path": "",
  /// "type": "deleted"}` and the watcher has stopped.
  public var workspaceDeleted: Bool
  /// Directories (relative to the root, "" for it) whose own `.git` came,
  /// went or changed: each is now a repository of its own, or no longer
  /// one, so git status may differ anywhere below it. Sorted.
  public var repositories: [String]
  /// The watcher's `state` moved (its mode, or one more overflow) since
  /// the last batch.
  public var stateChanged: Bool
  /// A `.gitignore` or `.gitattributes` among the changes (in a batch
  /// alone before any other: one the first read found) is a symlink or has
  /// other hard links: its rules then change through another name, with no
  /// event here.
  public var linkedRuleFiles: Bool

  public init(
    changes: [WatchChange] = [], gitMetadataChanged: Bool = false, rescanned: Bool = false,
    workspaceDeleted: Bool = false, repositories: [String] = [], stateChanged: Bool = false,
    linkedRuleFiles: Bool = false
  ) {
    self.linkedRuleFiles = linkedRuleFiles
    self.changes = changes
    self.repositories = repositories
    self.stateChanged = stateChanged
    self.gitMetadataChanged = gitMetadataChanged
    self.rescanned = rescanned
    self.workspaceDeleted = workspaceDeleted
  }

  public var isEmpty: Bool {
    changes.isEmpty && !gitMetadataChanged && !workspaceDeleted && repositories.isEmpty && !stateChanged
      && !linkedRuleFiles
  }
}
