#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
  /// by `path` as given. A missing or non-directory path is `[]`.
  public static func list(root: WorkspaceRoot, path: String?) throws(PathError) -> [String] {
    let clientPath = path ?? ""
    guard case .found(let item) = try root.lookup(clientPath), item.kind == .directory,
      case .success(let directory) = item.openDirectory(),
      let entries = DirectoryReader.entries(of: directory)
    else { return [] }

    let here = item.resolved
    let rules = IgnoreRules(holding: here.absolute)
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
        // Followed inside the workspace only: a broken link, a loop, or one
        // that leads out is left out (nothing outside may show).
        guard let target = try? root.lookup(relative: join(here.relative, name)), case .found(let found) = target
        else { continue }
        isDirectory = found.kind == .directory
      }
      let display = isDirectory ? name + "/" : name
      if here.relative.isEmpty && topLevelIgnored.contains(display) { continue }
      if let rules, let inRepository = rules.relative(join(here.absolute, name)),
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
    root: WorkspaceRoot, path: String?, progress: @escaping (Int) -> Void = { _ in },
    isCancelled: @escaping () -> Bool = { false }
  ) throws -> [String] {
    let clientPath = path ?? ""
    guard case .found(let item) = try root.lookup(clientPath), item.kind == .directory,
      case .success(let directory) = item.openDirectory()
    else { return [] }
    let prefix = clientPath.isEmpty ? "" : (clientPath.hasSuffix("/") ? clientPath : clientPath + "/")
    var walker = RecursiveWalker(
      root: root, prefix: Array(prefix.utf8), progress: progress, isCancelled: isCancelled)
    try walker.walk(
      directory: directory, relative: item.resolved.relative, absolute: item.resolved.absolute, listed: [],
      rules: IgnoreRules(holding: item.resolved.absolute))
    return walker.output
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

/// The depth-first walk behind `listRecursive`. Each directory's entries are
/// sorted by name bytes with `/` appended to directories, so emitting them
/// depth-first yields the whole list in code-point path order, without a
/// global sort.
private struct RecursiveWalker {
  let root: WorkspaceRoot
  let prefix: [UInt8]
  let progress: (Int) -> Void
  let isCancelled: () -> Bool
  var output: [String] = []
  private var sinceReport = 0

  init(root: WorkspaceRoot, prefix: [UInt8], progress: @escaping (Int) -> Void, isCancelled: @escaping () -> Bool) {
    self.root = root
    self.prefix = prefix
    self.progress = progress
    self.isCancelled = isCancelled
  }

  /// - Parameters:
  ///   - relative / absolute: the directory, relative to the workspace root
  ///     and on disk.
  ///   - listed: the directory relative to the listed one (what output
  ///     names start with), as bytes with a trailing `/` unless empty.
  mutating func walk(
    directory: FileDescriptor, relative: String, absolute: String, listed: [UInt8], rules: IgnoreRules?
  ) throws {
    if isCancelled() { throw CancellationError() }
    guard var entries = DirectoryReader.entries(of: directory) else { return }
    entries.removeAll { $0.name == Self.dotGit }
    entries = DirectoryReader.inPathOrder(entries)
    let atRoot = relative.isEmpty
    // The directory relative to the repository's working directory, as
    // bytes ending in `/` (or empty): ignore and index queries take
    // `repoPrefix + name + NUL`, built without a String per file.
    var repoPrefix: [UInt8]?
    if let rules, let inRepository = rules.relative(absolute) {
      repoPrefix = Array(inRepository.utf8)
      if !repoPrefix!.isEmpty { repoPrefix!.append(0x2F) }
    }
    var query: [UInt8] = []
    func repoQuery(_ name: [UInt8], directory: Bool = false) -> [UInt8] {
      query.removeAll(keepingCapacity: true)
      query.append(contentsOf: repoPrefix!)
      query.append(contentsOf: name)
      if directory { query.append(0x2F) }
      query.append(0)
      return query
    }
    for entry in entries {
      if atRoot && FileListing.topLevelIgnored.contains(entry.kind == .directory ? entry.text + "/" : entry.text) {
        continue
      }
      switch entry.kind {
      case .directory:
        let name = entry.text
        let childAbsolute = FileListing.join(absolute, name)
        if let rules, repoPrefix != nil, !rules.hasTrackedFiles(under: String(decoding: repoQuery(entry.name).dropLast(), as: UTF8.self)),
          rules.isIgnored(nulTerminated: repoQuery(entry.name, directory: true))
        {
          // Ignored, and no tracked file below it: git lists nothing there.
          continue
        }
        var childRules = rules
        if DirectoryReader.statKind(in: directory, name: entry.name + Self.slashDotGit) != nil {
          // A nested repository: its own rules from here down.
          childRules = IgnoreRules(holding: childAbsolute) ?? rules
        }
        guard let child = DirectoryReader.openChild(of: directory, entry.name) else { continue }
        try walk(
          directory: child, relative: FileListing.join(relative, name), absolute: childAbsolute,
          listed: listed + entry.name + [0x2F], rules: childRules)
      case .file:
        if let rules, repoPrefix != nil {
          let path = repoQuery(entry.name)
          if !rules.isTracked(nulTerminated: path) && rules.isIgnored(nulTerminated: path) { continue }
        }
        emit(listed, entry.name)
      case .symlink:
        guard let target = try? root.lookup(relative: FileListing.join(relative, entry.text)),
          case .found(let found) = target, found.kind == .regular
        else { continue }
        if let rules, repoPrefix != nil {
          let path = repoQuery(entry.name)
          if !rules.isTracked(nulTerminated: path) && rules.isIgnored(nulTerminated: path) { continue }
        }
        emit(listed, entry.name)
      case .other:
        continue
      }
    }
  }

  static let dotGit = Array(".git".utf8)
  static let slashDotGit = Array("/.git".utf8)

  private mutating func emit(_ directory: [UInt8], _ name: [UInt8]) {
    let count = prefix.count + directory.count + name.count
    output.append(
      String(unsafeUninitializedCapacity: count) { buffer in
        var index = 0
        for part in [prefix, directory, name] {
          for byte in part {
            buffer[index] = byte
            index += 1
          }
        }
        return count
      })
    sinceReport += 1
    if sinceReport >= 500 {
      sinceReport = 0
      progress(output.count)
    }
  }
}
