import CLibGit2

/// Git's own ignore rules (every `.gitignore` on the way, `.git/info/exclude`,
/// `core.excludesFile`) and the index, for the repository that holds a
/// directory, as libgit2 evaluates them. Listing uses it to leave out what
/// `git status` would leave out, while keeping tracked files.
///
/// Not thread-safe (a libgit2 repository is not): one per listing.
public final class IgnoreRules {
  /// The repository's working directory, absolute, without a trailing `/`.
  public let workdir: String
  // The same handles the git methods use; freed with this value.
  private let repository: Repository
  private let index: Index?

  /// The rules of the repository holding `directory` (an absolute path),
  /// nested repositories included; nil when no working tree holds it.
  public init?(holding directory: String) {
    guard let found = try? Repository.open(directory, search: true), let workdir = found.workdir else { return nil }
    self.workdir = workdir
    self.repository = found
    self.index = try? found.index()
  }

  /// The path of `absolute` relative to the working directory, or nil when
  /// it is not inside it.
  public func relative(_ absolute: String) -> String? {
    if absolute == workdir { return "" }
    let prefix = workdir == "/" ? "/" : workdir + "/"
    guard absolute.hasPrefix(prefix) else { return nil }
    return String(absolute.dropFirst(prefix.count))
  }

  /// Whether the rules ignore a path (relative to the working directory),
  /// including by ignoring a directory above it. Errors count as not ignored:
  /// showing a file too many beats hiding one.
  public func isIgnored(_ path: String, isDirectory: Bool) -> Bool {
    var ignored: Int32 = 0
    // The trailing `/` tells libgit2 it is a directory without a stat.
    let query = isDirectory && !path.hasSuffix("/") ? path + "/" : path
    guard git_ignore_path_is_ignored(&ignored, repository.pointer, query) == 0 else { return false }
    return ignored != 0
  }

  /// `isIgnored` for a path given as NUL-terminated UTF-8 bytes (the
  /// recursive listing's form: no String per file).
  public func isIgnored(nulTerminated path: [UInt8]) -> Bool {
    var ignored: Int32 = 0
    let status = path.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) {
        git_ignore_path_is_ignored(&ignored, repository.pointer, $0.baseAddress)
      }
    }
    return status == 0 && ignored != 0
  }

  /// `isTracked` for a path given as NUL-terminated UTF-8 bytes.
  public func isTracked(nulTerminated path: [UInt8]) -> Bool {
    guard let index = index?.pointer else { return false }
    return path.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { pointer in
        (0...3).contains { git_index_get_bypath(index, pointer.baseAddress, Int32($0)) != nil }
      }
    }
  }

  /// Whether the index has the file (stage 0, or any stage of a conflict).
  public func isTracked(_ path: String) -> Bool {
    guard let index = index?.pointer else { return false }
    if git_index_get_bypath(index, path, 0) != nil { return true }
    return (1...3).contains { git_index_get_bypath(index, path, Int32($0)) != nil }
  }

  /// Every tracked path below a directory (relative to the working
  /// directory, "" for all), in index order (bytewise).
  public func trackedPaths(under directory: String) -> [String] {
    guard let index = index?.pointer else { return [] }
    let prefix = directory.isEmpty || directory.hasSuffix("/") ? directory : directory + "/"
    var position = 0
    if !prefix.isEmpty {
      guard git_index_find_prefix(&position, index, prefix) == 0 else { return [] }
    }
    var paths: [String] = []
    let count = git_index_entrycount(index)
    while position < count, let entry = git_index_get_byindex(index, position) {
      let path = String(cString: entry.pointee.path)
      guard path.hasPrefix(prefix) else { break }
      if paths.last != path { paths.append(path) }
      position += 1
    }
    return paths
  }

  /// Whether any tracked file lies below a directory.
  public func hasTrackedFiles(under directory: String) -> Bool {
    guard let index = index?.pointer else { return false }
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    var position = 0
    return git_index_find_prefix(&position, index, prefix) == 0
  }
}
