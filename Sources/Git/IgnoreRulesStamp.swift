/// What decides git's ignore rules in a workspace besides the `.gitignore`
/// files inside it (which a watcher sees change itself): which repositories
/// report there (the workspace's and its depth-1 nested ones), and for each
/// the files whose contents move its rules: config, `info/exclude`, the
/// files its config names, the user's and the system's defaults, and the
/// `.gitignore`s above the workspace. A watcher compares a fresh one with
/// the last to know when to reconsider what it leaves unwatched.
///
/// Only `stat` is asked of those files, never their contents, as for
/// `ScanMemory.Key`.
public struct IgnoreRulesStamp: Equatable, Sendable {
  private var repositories: [String: FoundRepository?] = [:]
  private var stamps: [String: FileStamp?] = [:]
  /// False when a repository's config names a file no stamp can follow (a
  /// relative include): then the rules may have moved at any time.
  public private(set) var isComplete = true

  public init(_ workspace: GitWorkspace) {
    var found: [(name: String, repository: FoundRepository)] = []
    if case .repository(let root) = workspace.root() { found.append(("", root)) }
    repositories.updateValue(found.first?.repository, forKey: "")
    for nested in GitChanges.nestedRepositories(in: workspace) {
      repositories.updateValue(nested.repository, forKey: nested.name)
      if let repository = nested.repository { found.append((nested.name, repository)) }
    }
    for (name, repository) in found {
      var files = ScanMemory.Key.settingsFiles(gitdir: repository.gitdir, commondir: repository.commondir)
      let named = try? RepositoryPool.shared.with(repository, count: 1) { handles -> [String]? in
        guard let main = handles.first else { return [] }
        if name.isEmpty, let scope = WorkspaceRepository.scope(of: main.repository, workspace: workspace.path) {
          let top = FileSystem.realPath(repository.workdir) ?? repository.workdir
          files += ScanMemory.Key.enclosingRuleFiles(top: top, scope: scope)
        }
        return main.repository.filesNamedByConfig
      }
      guard let named = named.flatMap({ $0 }) else {
        isComplete = false
        continue
      }
      for file in files + named { stamps.updateValue(FileStamp(file), forKey: file) }
    }
  }
}
