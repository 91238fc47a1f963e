import Git

extension GitChangeTracker {
  /// A tracker fed by a `WorkspaceWatcher` of `workspace`: the top-level
  /// names the watcher drops (`node_modules/`, ...) have no watch, so they
  /// are compared on every answer.
  public convenience init(watched workspace: GitWorkspace) {
    self.init(
      workspace: workspace,
      alwaysCompared: FileListing.topLevelIgnored.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }.sorted())
  }

  /// Takes in what a watcher delivered. A rescan's changes are complete
  /// for the tree but say nothing of what happened between two rescans
  /// with no watch, so they are not taken as the only paths to compare.
  public func note(_ batch: WatchBatch) {
    if batch.linkedRuleFiles { noteLinkedRules() }
    if batch.rescanned || batch.workspaceDeleted || batch.repositories.contains("") {
      invalidateAll()
      return
    }
    invalidate(batch.changes.map(\.path) + batch.repositories.map { $0 + "/" })
  }
}
