import Support
import Git

/// listFiles: one directory level the way OpenHands lists it, with git's own
/// ignore rules instead of its single `.gitignore`; and the recursive form
/// for editor quick-open.
public enum FileListing {
  /// Dropped from the workspace root's listing only (OpenHands' FILES_TO_IGNORE;
  /// `.git` is dropped everywhere anyway).
  static let topLevelIgnored: Set<String> = [".DS_Store", "node_modules/", "__pycache__/", "lost+found/", ".vscode/"]

  /// One level of `path` (nil or "" for the root): directories first, then
  /// files, each by lowercased name; directories end in `/`; entries prefixed
  /// by `path` as given; broken symlinks dropped, symlinks that lead out
  /// listed as files. A missing or non-directory path is `[]`.
  ///
  /// `git` is the conversation's view of its repositories (pinned when it
  /// opened); without one, the repositories are found as they are now.
  public static func list(root: WorkspaceRoot, path: String?, git: GitWorkspace? = nil) throws(PathError) -> [String] {
    let clientPath = path ?? ""
    guard case .found(let item) = try root.lookup(clientPath), item.kind == .directory,
      case .success(let directory) = item.openDirectory(),
      let entries = DirectoryReader.entries(of: directory)
    else { return [] }

    let here = item.relative.text
    let absolute = root.pathForIgnoreRules(item)
    let rules = IgnoreRules(holding: absolute, in: git ?? GitWorkspace(opening: root.path))
    var directories: [String] = []
    var files: [String] = []
    for entry in entries {
      let name = entry.text
      if name == ".git" { continue }
      let isDirectory: Bool
      switch entry.kind {
      case .directory: isDirectory = true
      case .file, .other: isDirectory = false
      case .symlink:
        // Followed inside the workspace, to tell a directory from a file; a
        // broken link or a loop is left out. A link that leads out is the
        // workspace's own name: listed as a file, its target never looked
        // at (not even whether it exists), and selectFile refuses it.
        do {
          guard case .found(let found) = try root.lookup(relative: join(here, name)) else { continue }
          isDirectory = found.kind == .directory
        } catch {
          isDirectory = false
        }
      }
      let display = isDirectory ? name + "/" : name
      if here.isEmpty && topLevelIgnored.contains(display) { continue }
      if let rules, let inRepository = rules.relative(join(absolute, name)),
        rules.isIgnored(inRepository, isDirectory: isDirectory)
      {
        // Tracked files stay listed, as in `git status`.
        let tracked =
          isDirectory ? rules.hasTrackedFiles(under: inRepository) : rules.isTracked(inRepository)
        if !tracked { continue }
      }
      if isDirectory { directories.append(display) } else { files.append(display) }
    }
    let ordered = sortedByLowercasedName(directories) + sortedByLowercasedName(files)
    guard !clientPath.isEmpty else { return ordered }
    let prefix = clientPath.hasSuffix("/") ? clientPath : clientPath + "/"
    return ordered.map { prefix + $0 }
  }

  /// Every file below `path` that git would not ignore, in code-point path
  /// order, prefixed like `list`. `.git` is never entered, ignored
  /// directories are not descended (tracked files in them still count),
  /// symlinked directories are not followed, symlinked files are listed only
  /// when their target is a file inside the workspace. Nested repositories
  /// use their own rules.
  ///
  /// - Parameters:
  ///   - progress: called now and then with the number of files found.
  ///   - isCancelled: polled once per directory; when true the walk stops
  ///     with `CancellationError`.
  public static func listRecursive(
    root: WorkspaceRoot, path: String?, git: GitWorkspace? = nil, progress: @escaping (Int) -> Void = { _ in },
    isCancelled: @escaping () -> Bool = { false }
  ) throws -> [String] {
    let git = git ?? GitWorkspace(opening: root.path)
    let clientPath = path ?? ""
    guard case .found(let item) = try root.lookup(clientPath), item.kind == .directory,
      case .success(let directory) = item.openDirectory()
    else { return [] }
    let prefix = clientPath.isEmpty ? "" : (clientPath.hasSuffix("/") ? clientPath : clientPath + "/")
    let threads = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 4))
    let absolute = root.pathForIgnoreRules(item)
    let top = RecursiveListing.Directory(
      listed: [], relative: item.relative.text, absolute: absolute, handle: directory,
      rules: IgnoreRules(holding: absolute, in: git, handles: threads))
    return try RecursiveListing(root: root, git: git, prefix: Array(prefix.utf8), threads: threads)
      .run(directory: top, progress: progress, isCancelled: isCancelled)
  }

  static func join(_ directory: String, _ name: String) -> String {
    directory.isEmpty ? name : (directory.hasSuffix("/") ? directory + name : directory + "/" + name)
  }

  /// Python's `sorted(key=str.lower)`: code point by code point on the
  /// lowercased text; ties keep a deterministic (bytewise) order.
  static func sortedByLowercasedName(_ names: [String]) -> [String] {
    let keyed = names.map { (key: Array($0.lowercased().unicodeScalars.map(\.value)), name: $0) }
    return keyed.sorted { lhs, rhs in
      if lhs.key != rhs.key { return lhs.key.lexicographicallyPrecedes(rhs.key) }
      return [UInt8].bytewiseLess(Array(lhs.name.utf8), Array(rhs.name.utf8))
    }.map(\.name)
  }
}
