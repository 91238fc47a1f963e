import CLibGit2

import Support

/// What one repository's scan leaves for the next: the working-tree half of
/// its comparison, per path, and the facts it depended on beyond the files
/// themselves. While those facts hold, only the paths that changed need
/// comparing again; when any moves, the next scan starts over.
struct ScanMemory: Sendable {
  struct Key: Equatable, Sendable {
    /// The repository as opened, and the part of it reported.
    var repository: FoundRepository
    var scope: String
    /// The base tree and the index (HEAD, refs, `git add`, `git commit`,
    /// `git checkout` all move one of them).
    var staged: StagedCache.Key
    /// The files whose rules apply to every path: config (filemode,
    /// autocrlf, ...), `info/exclude`, `info/attributes`.
    var settings: [FileStamp?]

    static func settingsFiles(gitdir: String, commondir: String) -> [String] {
      var files = [commondir + "/config", gitdir + "/config.worktree", commondir + "/info/exclude"]
      files.append(commondir + "/info/attributes")
      if gitdir != commondir { files += [gitdir + "/config", gitdir + "/info/exclude"] }
      return files + userFiles
    }

    /// The configuration and default rule files outside the repository
    /// that libgit2 reads (global, XDG, system).
    static var userFiles: [String] {
      var files = ["/etc/gitconfig"]
      let home = getenv("HOME").map { String(cString: $0) }
      if let home { files.append(home + "/.gitconfig") }
      if let xdg = getenv("XDG_CONFIG_HOME").map({ String(cString: $0) }) ?? home.map({ $0 + "/.config" }) {
        files += ["/git/config", "/git/ignore", "/git/attributes"].map { xdg + $0 }
      }
      return files
    }

    /// For a workspace below its working tree's top (`scope` `dir/sub/`):
    /// the `.gitignore` and `.gitattributes` of the top and of each
    /// directory down to the workspace's parent. Their rules apply inside
    /// the workspace, but no watch of the workspace sees them change.
    static func enclosingRuleFiles(top: String, scope: String) -> [String] {
      guard !scope.isEmpty else { return [] }
      var directories = [top]
      var directory = top == "/" ? "" : top
      let components = scope.utf8.split(separator: UInt8(ascii: "/")).dropLast()
      for component in components {
        directory += "/" + String(decoding: component, as: UTF8.self)
        directories.append(directory)
      }
      return directories.flatMap { [$0 + "/.gitignore", $0 + "/.gitattributes"] }
    }
  }

  var key: Key
  /// Index to working tree, by repository-relative path.
  var unstaged: [String: WorkdirDelta]
  /// The index's submodules: their status moves with commits and edits made
  /// inside them, which the enclosing working tree's events do not name.
  var gitlinks: [String]
  /// Answers made from this memory since its full scan (for tests: a
  /// tracker that always rescans would pass any comparison).
  var narrowedScans = 0
  /// What the last answer from this memory blended: while a narrowed
  /// comparison finds every told path as it was, the blend of the same
  /// halves gives the same changes again.
  var lastChanges: [GitChange]?

  /// Replaces what was known under `specs` (repository-relative paths, a
  /// directory standing for everything below it) with a fresh comparison
  /// of exactly those paths.
  /// Whether anything under `specs` differs from what was known.
  @discardableResult
  mutating func replace(under specs: Set<String>, with fresh: [WorkdirDelta]) -> Bool {
    let normalized = Set(specs.map(Self.trimmingSlash))
    var covered: [String] = []
    if normalized.count <= Self.fewSpecs {
      // The usual answer (a few paths told): byte prefixes, no string made
      // per entry and component.
      let prefixes = normalized.map { Array($0.utf8) }
      for path in unstaged.keys where Self.isCovered(path, byAny: prefixes) { covered.append(path) }
    } else {
      for path in unstaged.keys where Self.isCovered(path, by: normalized) { covered.append(path) }
    }
    var differs = covered.count != fresh.count
    for delta in fresh where !differs {
      guard let before = unstaged[delta.path] else {
        differs = true
        break
      }
      differs = !before.isSame(as: delta)
    }
    for path in covered { unstaged[path] = nil }
    for delta in fresh { unstaged[delta.path] = delta }
    return differs
  }

  /// Up to this many specs, each entry is held against each of them.
  static let fewSpecs = 32

  /// `isCovered(_:by:)` for a few specs given as bytes (no trailing `/`).
  static func isCovered(_ path: String, byAny specs: [[UInt8]]) -> Bool {
    var path = path
    return path.withUTF8 { bytes in
      let length = bytes.last == UInt8(ascii: "/") ? bytes.count - 1 : bytes.count
      for spec in specs where spec.count <= length {
        guard spec.count == length || bytes[spec.count] == UInt8(ascii: "/") else { continue }
        if spec.isEmpty || spec.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress!, spec.count) }) == 0 {
          return true
        }
      }
      return false
    }
  }

  /// `specs` with, for each, the directory above it that the last scan
  /// reported whole (an untracked repository below the working tree's top,
  /// `lib/vendor/`): a change inside may end that entry (its last file
  /// gone), which a pathspec naming only the file would never compare.
  func widened(_ specs: Set<String>) -> Set<String> {
    var widened = specs
    for spec in specs {
      let bytes = Array(spec.utf8)
      for (position, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") && position + 1 < bytes.count {
        let directory = String(decoding: bytes[...position], as: UTF8.self)
        if unstaged[directory] != nil { widened.insert(directory) }
      }
    }
    return widened
  }

  /// Whether `path`, or a directory holding it, is in `specs`.
  static func isCovered(_ path: String, by specs: Set<String>) -> Bool {
    var bytes = Array(path.utf8)
    if bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
    if specs.contains(String(decoding: bytes, as: UTF8.self)) { return true }
    for (position, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
      if specs.contains(String(decoding: bytes[..<position], as: UTF8.self)) { return true }
    }
    return false
  }

  static func trimmingSlash(_ path: String) -> String {
    path.utf8.last == UInt8(ascii: "/") ? String(decoding: path.utf8.dropLast(), as: UTF8.self) : path
  }

  /// Paths of the index's gitlink (submodule) entries under `scope`, and
  /// whether any `.gitignore` or `.gitattributes` there is a symlink (its
  /// target, which may lie anywhere, is what libgit2 reads).
  static func gitlinks(in index: Index, scope: String) -> (paths: [String], linkedRules: Bool) {
    var paths: [String] = []
    var linkedRules = false
    for position in 0..<git_index_entrycount(index.pointer) {
      guard let entry = git_index_get_byindex(index.pointer, position), let raw = entry.pointee.path else { continue }
      switch entry.pointee.mode {
      case GIT_FILEMODE_COMMIT.rawValue:
        let path = String(cString: raw)
        if path.utf8.starts(with: scope.utf8) { paths.append(path) }
      case GIT_FILEMODE_LINK.rawValue:
        if !linkedRules, isRuleFile(String(cString: raw)) { linkedRules = true }
      default:
        continue
      }
    }
    return (paths, linkedRules)
  }

  /// Whether an untracked (or modified) `.gitignore` or `.gitattributes`
  /// is a symlink now: what libgit2 reads is its target, which changes
  /// with no event for the link, so no scan may rest on this one. Caught
  /// here, a link made before watching began is not left to the periodic
  /// full comparison.
  static func holdsLinkedRules(_ deltas: [WorkdirDelta]) -> Bool {
    deltas.contains { UInt32($0.newMode) == GIT_FILEMODE_LINK.rawValue && isRuleFile($0.path) }
  }

  /// Whether the path's last name is `.gitignore` or `.gitattributes`.
  static func isRuleFile(_ path: String) -> Bool {
    let bytes = path.utf8
    let name = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes[bytes.index(after: $0)...] } ?? bytes[...]
    return name.elementsEqual(".gitignore".utf8) || name.elementsEqual(".gitattributes".utf8)
  }
}
