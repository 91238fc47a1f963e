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
/// The rules are read afresh after `refresh()` (the index, every
/// `.gitignore`): the tree calls it before each pass over its hints.
final class IgnoredDirectories {
  private let git: GitWorkspace
  /// The workspace's real path.
  private let root: String
  /// The workspace repository's rules; nil inside: not read yet this pass.
  private var rootRules: IgnoreRules??
  /// By depth-1 name: its own repository's rules, or nil for none.
  private var nestedRules: [String: IgnoreRules?] = [:]

  init(git: GitWorkspace, root: String) {
    self.git = git
    self.root = root == "/" ? "" : root
  }

  /// The next question reads the rules and the index again.
  func refresh() {
    rootRules = nil
    nestedRules = [:]
  }

  /// Whether the directory at `relative` (`/`-separated, UTF-8, no
  /// trailing `/`) is left unwatched now.
  func skips(_ relative: String) -> Bool {
    let bytes = relative.utf8
    guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return false }
    let top = String(decoding: bytes[..<slash], as: UTF8.self)
    let query: String
    let rules: IgnoreRules
    if let nested = nested(top) {
      rules = nested
      query = String(decoding: bytes[bytes.index(after: slash)...], as: UTF8.self) + "/"
    } else {
      guard let workspace = workspaceRules, let inRepository = workspace.relative(root + "/" + relative) else {
        return false
      }
      rules = workspace
      query = inRepository + "/"
    }
    return query.withCString { path in rules.isIgnored(path) && !rules.hasTrackedFiles(under: path) }
  }

  private var workspaceRules: IgnoreRules? {
    if let rootRules { return rootRules }
    let rules = IgnoreRules(holding: root.isEmpty ? "/" : root, in: git)
    rootRules = .some(rules)
    return rules
  }

  /// The rules of the depth-1 repository at `name` that gitChanges reports
  /// (not hidden, wholly inside the workspace), else nil: a hidden one's or
  /// a refused one's files are the workspace repository's to report.
  private func nested(_ name: String) -> IgnoreRules? {
    if let known = nestedRules[name] { return known }
    var rules: IgnoreRules?
    let directory = root + "/" + name
    if !name.hasPrefix("."), let found = IgnoreRules(nestedAt: directory, in: git), found.workdir == directory {
      rules = found
    }
    nestedRules.updateValue(rules, forKey: name)
    return rules
  }
}
