import Git

/// Which directories the watcher leaves unwatched and unread, by the rules
/// listing uses: those git ignores that hold no tracked file, where git
/// status looks at nothing (a `build/` or `web/node_modules/` of 100,000
/// files costs no watch).
///
/// Never the root nor a depth-1 directory: a depth-1 directory that gains a
/// `.git` becomes a repository gitChanges reports whatever the workspace
/// repository ignores, so its watch must see that `.git` come. Below a
/// depth-1 repository gitChanges reports, that repository's rules decide;
/// elsewhere the workspace repository's. With no repository, nothing is
/// left out.
///
/// Only where the watcher can vouch that what it leaves out changes in
/// status only with something it sees (the rules, or the index through its
/// watch on `.git`): below a repository whose working tree is exactly the
/// workspace (or the depth-1 directory), whose git directory is that
/// directory's own `.git` with a watch on it, and whose index reads. Not
/// for a workspace below its working tree's top, a linked worktree, a
/// submodule whose git directory is in `.git/modules`, nor past the watch
/// limit: there nothing is left out.
///
/// The rules are read afresh after `refresh()` (the index, every
/// `.gitignore`): the tree calls it before each pass over its hints, and
/// after, so that no repository handle stays checked out between passes.
final class IgnoredDirectories {
  /// What the tree knows of a directory's own `.git`.
  enum GitState {
    /// None.
    case none
    /// A `.git` directory with a watch on it: an index change is seen.
    case watched
    /// A gitfile, or a `.git` directory without a watch.
    case unwatched
  }

  /// Who decides below a depth-1 directory.
  private enum Decider {
    /// The workspace repository: no repository of its own here.
    case workspace
    /// Its own repository, which gitChanges reports.
    case nested(IgnoreRules)
    /// A repository whose index no watch follows, or none that reads:
    /// nothing is left out.
    case nobody
  }

  private let git: GitWorkspace
  /// The workspace's real path.
  private let root: String
  /// The workspace repository's rules, nil when there is none the watcher
  /// can vouch for; nil outside: not read yet this pass.
  private var rootRules: IgnoreRules??
  /// By depth-1 name.
  private var deciders: [String: Decider] = [:]

  init(git: GitWorkspace, root: String) {
    self.git = git
    self.root = root == "/" ? "" : root
  }

  /// The next question reads the rules and the index again; the handles
  /// read so far go back to the pool.
  func refresh() {
    rootRules = nil
    deciders = [:]
  }

  /// Whether the directory at `relative` (`/`-separated, UTF-8, no
  /// trailing `/`) is left unwatched now. `gitState` tells of the `.git`
  /// of the workspace ("") or of a depth-1 directory.
  func skips(_ relative: String, gitState: (String) -> GitState) -> Bool {
    let bytes = relative.utf8
    guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return false }
    let top = String(decoding: bytes[..<slash], as: UTF8.self)
    let query: String
    let rules: IgnoreRules
    switch decider(top, gitState: gitState(top)) {
    case .nobody:
      return false
    case .nested(let nested):
      rules = nested
      query = String(decoding: bytes[bytes.index(after: slash)...], as: UTF8.self) + "/"
    case .workspace:
      guard gitState("") == .watched, let workspace = workspaceRules,
        let inRepository = workspace.relative(root + "/" + relative)
      else { return false }
      rules = workspace
      query = inRepository + "/"
    }
    return query.withCString { path in
      rules.isIgnored(path) && rules.hasReadableIndex && !rules.hasTrackedFiles(under: path)
    }
  }

  private var workspaceRules: IgnoreRules? {
    if let rootRules { return rootRules }
    let rules = IgnoreRules(holding: root.isEmpty ? "/" : root, in: git).flatMap { found in
      Self.isOwnRepository(found, of: root) ? found : nil
    }
    rootRules = .some(rules)
    return rules
  }

  /// Whether `rules` are of the repository whose working tree is
  /// `directory` and whose git directory is its own `.git`.
  private static func isOwnRepository(_ rules: IgnoreRules, of directory: String) -> Bool {
    rules.workdir == directory && rules.gitdir == directory + "/.git"
  }

  /// Hidden depth-1 repositories' files are the workspace repository's to
  /// report; below any other `.git` there its own repository decides when
  /// the watcher can vouch for it, and nobody otherwise (refused,
  /// unreadable, a gitfile, no watch).
  private func decider(_ name: String, gitState: GitState) -> Decider {
    if let known = deciders[name] { return known }
    var decider = Decider.workspace
    let directory = root + "/" + name
    if !name.hasPrefix(".") && gitState != .none {
      decider = .nobody
      if gitState == .watched, let found = IgnoreRules(nestedAt: directory, in: git),
        Self.isOwnRepository(found, of: directory)
      {
        decider = .nested(found)
      }
    }
    deciders.updateValue(decider, forKey: name)
    return decider
  }
}
