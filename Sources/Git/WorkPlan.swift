import CLibGit2

/// Splits a working tree into literal pathspec sets of similar size, one per
/// thread, so each libgit2 walk stats only its share.
///
/// The shares are built from the index: a directory holding more than its
/// fair part of the entries is opened up into its children; everything else
/// (files, smaller directories, and names on disk that the index does not
/// know, so untracked files are not lost) becomes one unit. Units are dealt
/// out heaviest first to the lightest share.
enum WorkPlan {
  struct Unit {
    var path: String
    var weight: Int
  }

  static func buckets(index: Index, workdir: String, scope: String, count: Int) -> [[String]] {
    let paths = trackedPaths(index, scope: scope)
    let target = max(1, paths.count / (count * 4))
    var units: [Unit] = []
    expand(paths, paths.indices, directory: scope, workdir: workdir, target: target, into: &units)

    var buckets = Array(repeating: [String](), count: count)
    var loads = Array(repeating: 0, count: count)
    for unit in units.sorted(by: { $0.weight > $1.weight }) {
      let lightest = loads.indices.min { loads[$0] < loads[$1] }!
      buckets[lightest].append(unit.path)
      loads[lightest] += unit.weight
    }
    // An empty share would mean "everything" to libgit2: drop it.
    return buckets.filter { !$0.isEmpty }
  }

  /// Index paths under `scope`, in index (byte) order.
  private static func trackedPaths(_ index: Index, scope: String) -> [String] {
    let count = git_index_entrycount(index.pointer)
    var paths: [String] = []
    paths.reserveCapacity(count)
    for position in 0..<count {
      guard let entry = git_index_get_byindex(index.pointer, position), let raw = entry.pointee.path else { continue }
      let path = String(cString: raw)
      if scope.isEmpty || path.utf8.starts(with: scope.utf8) { paths.append(path) }
    }
    return paths
  }

  /// Units for the entries `range` of `paths`, all inside `directory`
  /// (repository-relative, "" or ending in `/`).
  private static func expand(
    _ paths: [String], _ range: Range<Int>, directory: String, workdir: String, target: Int, into units: inout [Unit]
  ) {
    let skip = directory.utf8.count
    var known: Set<String> = []
    var position = range.lowerBound
    while position < range.upperBound {
      let rest = paths[position].utf8.dropFirst(skip)
      let slash = rest.firstIndex(of: UInt8(ascii: "/"))
      let name = String(decoding: rest[..<(slash ?? rest.endIndex)], as: UTF8.self)
      var end = position + 1
      if slash != nil {
        // Entries under one directory are contiguous in byte order.
        let prefix = Array((directory + name + "/").utf8)
        while end < range.upperBound && paths[end].utf8.starts(with: prefix) { end += 1 }
      }
      known.insert(name)
      let child = directory + name
      if slash != nil && end - position > target && !FileSystem.holdsGitDir(workdir + "/" + child) {
        expand(paths, position..<end, directory: child + "/", workdir: workdir, target: target, into: &units)
      } else {
        units.append(Unit(path: child, weight: end - position))
      }
      position = end
    }
    for name in FileSystem.names(in: workdir + "/" + directory) where name != ".git" && !known.contains(name) {
      units.append(Unit(path: directory + name, weight: 1))
    }
  }
}
