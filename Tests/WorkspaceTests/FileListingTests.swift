import Foundation
import Git
import Testing
import TestSupport
import Workspace

@Suite struct FileListingTests {
  /// The reference's example workspace (section 6), as a real git repository.
  static func openHandsExample() throws -> TempTree {
    let tree = try TempTree()
    try tree.git("init", "-q")
    for directory in [".openhands", "node_modules", "src/components", "Build", "a-b"] { try tree.mkdir(directory) }
    try tree.write("src/index.ts", "export {}\n")
    try tree.write("src/components/x.ts", "")
    try tree.write("Build/out.o", "")
    try tree.write(".DS_Store", "")
    try tree.write(".env", "A=1\n")
    try tree.write(".gitignore", "*.log\n/Build\n")
    try tree.write("alpha.py", "")
    try tree.write("debug.log", "")
    try tree.write("README.md", "")
    try tree.write("Zeta.txt", "")
    try tree.write(".openhands/x", "")
    try tree.write("a-b/x", "")
    try tree.symlink("broken", to: "nowhere")
    try tree.symlink("srclink", to: "src")
    return tree
  }

  @Test func topLevelMatchesTheReferenceExample() throws {
    let tree = try Self.openHandsExample()
    #expect(
      try FileListing.list(root: tree.root, path: nil)
        == [".openhands/", "a-b/", "src/", "srclink/", ".env", ".gitignore", "alpha.py", "README.md", "Zeta.txt"])
    #expect(try FileListing.list(root: tree.root, path: "") == FileListing.list(root: tree.root, path: nil))
  }

  @Test func subdirectoriesArePrefixedAsGiven() throws {
    let tree = try Self.openHandsExample()
    #expect(try FileListing.list(root: tree.root, path: "src") == ["src/components/", "src/index.ts"])
    #expect(try FileListing.list(root: tree.root, path: "src/") == ["src/components/", "src/index.ts"])
    #expect(try FileListing.list(root: tree.root, path: "srclink") == ["srclink/components/", "srclink/index.ts"])
  }

  @Test func orderIsDirectoriesFirstByLowercasedKeyWithSlash() throws {
    let tree = try TempTree()
    for name in ["a", "a-b", "B", "c"] { try tree.mkdir(name) }
    for name in ["b.txt", "A.txt", "_x", "Émile", "z"] { try tree.write(name, "") }
    #expect(
      try FileListing.list(root: tree.root, path: nil) == ["a-b/", "a/", "B/", "c/", "_x", "A.txt", "b.txt", "z", "Émile"])
  }

  @Test func fixedNamesOnlyAtTopLevelAndGitEverywhere() throws {
    let tree = try TempTree()
    for name in ["node_modules", "__pycache__", "lost+found", ".vscode", ".git", "sub/node_modules", "sub/.git"] {
      try tree.mkdir(name)
    }
    try tree.write(".DS_Store", "")
    try tree.write("sub/.DS_Store", "")
    try tree.write("node_modules.txt", "")
    #expect(try FileListing.list(root: tree.root, path: nil) == ["sub/", "node_modules.txt"])
    #expect(try FileListing.list(root: tree.root, path: "sub") == ["sub/node_modules/", "sub/.DS_Store"])
  }

  @Test func missingOrNonDirectoryIsEmpty() throws {
    let tree = try TempTree()
    try tree.write("file.txt", "x")
    #expect(try FileListing.list(root: tree.root, path: "nope").isEmpty)
    #expect(try FileListing.list(root: tree.root, path: "file.txt").isEmpty)
    #expect(try FileListing.listRecursive(root: tree.root, path: "nope").isEmpty)
  }

  @Test func outsideIsRefused() throws {
    let tree = try TempTree()
    try tree.symlink("out", to: "../outside")
    #expect(throws: PathError.outsideWorkspace) { try FileListing.list(root: tree.root, path: "..") }
    #expect(throws: PathError.outsideWorkspace) { try FileListing.list(root: tree.root, path: "out") }
    #expect(throws: PathError.outsideWorkspace) { try FileListing.listRecursive(root: tree.root, path: "/etc") }
    // A link that leads out is the workspace's own name (CONTRACT section 4
    // drops only broken links): listed as a file, whatever its target is
    // (a directory, a file, nothing at all), and never read.
    try tree.symlink("out-file", to: tree.outside + "/secret")
    try tree.symlink("out-missing", to: "../outside/nothing-here")
    try tree.symlink("out-via-inside", to: "in/../../outside")
    try tree.symlink("in", to: ".")
    try tree.symlink("broken", to: "nothing-here")
    try tree.symlink("loop", to: "loop")
    try tree.write("sub/x", "")
    try tree.symlink("sub/up-out", to: "../../outside")
    #expect(
      try FileListing.list(root: tree.root, path: nil) == ["in/", "sub/", "out", "out-file", "out-missing", "out-via-inside"])
    #expect(try FileListing.list(root: tree.root, path: "sub") == ["sub/up-out", "sub/x"])
    for name in ["out", "out-file", "out-missing", "out-via-inside", "sub/up-out"] {
      #expect(FileReading.read(root: tree.root, path: name, maxBytes: 100) == .failure(.outsideWorkspace), "\(name)")
    }
    // The recursive listing keeps a link only when it leads to a file inside.
    #expect(try FileListing.listRecursive(root: tree.root, path: nil) == ["sub/x"])
  }

  @Test func gitsOwnRulesNestedIgnoresInfoExcludeAndExcludesFile() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    let globalIgnore = tree.outside + "/global-ignore"
    try Data("*.global\n".utf8).write(to: URL(fileURLWithPath: globalIgnore))
    try tree.git("config", "core.excludesFile", globalIgnore)
    try tree.write(".git/info/exclude", "*.excluded\n")
    try tree.write(".gitignore", "*.log\n!keep.log\n")
    try tree.write("src/.gitignore", "generated/\n*.tmp\n")
    for name in ["src/a.log", "src/keep.log", "src/b.tmp", "src/c.excluded", "src/d.global", "src/main.c",
      "src/generated/g.c", "other/generated/h.c"]
    {
      try tree.write(name, "")
    }
    #expect(try FileListing.list(root: tree.root, path: "src") == ["src/.gitignore", "src/keep.log", "src/main.c"])
    #expect(try FileListing.list(root: tree.root, path: "other") == ["other/generated/"])
  }

  @Test func trackedFilesStayListedWhereAPatternMatches() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write(".gitignore", "*.log\nbuild/\n")
    try tree.write("tracked.log", "t")
    try tree.write("untracked.log", "u")
    try tree.write("build/tracked.o", "t")
    try tree.write("build/untracked.o", "u")
    try tree.git("add", "-f", "tracked.log", "build/tracked.o")
    #expect(try FileListing.list(root: tree.root, path: nil) == ["build/", ".gitignore", "tracked.log"])
    #expect(try FileListing.list(root: tree.root, path: "build") == ["build/tracked.o"])
    #expect(
      try FileListing.listRecursive(root: tree.root, path: nil) == [".gitignore", "build/tracked.o", "tracked.log"])
  }

  /// A nested gitfile naming a repository outside the workspace lends it
  /// no rules: its index would tell, name by name, what that repository
  /// tracks (a planted name ignored by `*` still shows when tracked there).
  @Test func aNestedRepositoryOutsideLendsNoRules() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try FileManager.default.createDirectory(atPath: tree.outside + "/repo", withIntermediateDirectories: true)
    for arguments in [["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]] {
      if arguments == ["add", "-A"] { try Data("x".utf8).write(to: URL(fileURLWithPath: tree.outside + "/repo/guessed-secret.txt")) }
      let run = try Program.run("/usr/bin/git", ["-C", tree.outside + "/repo"] + arguments)
      try #require(run.status == 0, "\(run.allOutput)")
    }
    try tree.mkdir("probe")
    try tree.write("probe/.git", "gitdir: \(tree.outside)/repo/.git\n")
    try tree.write("probe/.gitignore", "*\n")
    try tree.write("probe/guessed-secret.txt", "")
    try tree.write("probe/wrong-guess.txt", "")
    // Both planted names are alike to the workspace's own rules (both
    // ignored by `*`): the outside index must not tell them apart.
    let one = try FileListing.list(root: tree.root, path: "probe")
    #expect(one.contains("probe/guessed-secret.txt") == one.contains("probe/wrong-guess.txt"), "\(one)")
    let all = try FileListing.listRecursive(root: tree.root, path: nil)
    #expect(all.contains("probe/guessed-secret.txt") == all.contains("probe/wrong-guess.txt"), "\(all)")
    let git = GitWorkspace(opening: tree.path)
    let pinned = try FileListing.list(root: tree.root, path: "probe", git: git)
    #expect(pinned.contains("probe/guessed-secret.txt") == pinned.contains("probe/wrong-guess.txt"), "\(pinned)")
  }

  @Test func nestedRepositoryUsesItsOwnRules() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write(".gitignore", "*.a\n")
    try tree.mkdir("inner")
    try tree.git("init", "-q", in: "inner")
    try tree.write("inner/.gitignore", "*.b\n")
    try tree.write("inner/x.a", "")
    try tree.write("inner/x.b", "")
    try tree.write("inner/x.c", "")
    try tree.write("y.a", "")
    try tree.write("y.b", "")
    // The inner repository decides for its own directory: *.a is not ignored there.
    #expect(try FileListing.list(root: tree.root, path: "inner") == ["inner/.gitignore", "inner/x.a", "inner/x.c"])
    #expect(try FileListing.list(root: tree.root, path: nil) == ["inner/", ".gitignore", "y.b"])
    #expect(
      try FileListing.listRecursive(root: tree.root, path: nil)
        == [".gitignore", "inner/.gitignore", "inner/x.a", "inner/x.c", "y.b"])
    // A `.git` that is no repository leaves the enclosing rules in force.
    try tree.mkdir("fake/.git")
    try tree.write("fake/z.a", "")
    try tree.write("fake/z.b", "")
    #expect(
      try FileListing.listRecursive(root: tree.root, path: nil)
        == [".gitignore", "fake/z.b", "inner/.gitignore", "inner/x.a", "inner/x.c", "y.b"])
  }

  @Test func outsideARepositoryOnlyFixedNamesAreDropped() throws {
    let tree = try TempTree()
    try tree.write(".gitignore", "*.log\n")
    try tree.write("a.log", "")
    try tree.mkdir("node_modules")
    #expect(try FileListing.list(root: tree.root, path: nil) == [".gitignore", "a.log"])
  }

  @Test func recursiveIsFilesOnlyInCodePointOrder() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write(".gitignore", "ignored/\n*.o\n")
    for name in ["a/x", "a-b/y", "a.txt", "B/z", "ignored/q", "m.o", "é/u", "z/.git/config", "node_modules/n",
      "sub/node_modules/keep"]
    {
      try tree.write(name, "")
    }
    try tree.write(".git/info/exclude", "")
    try tree.symlink("link-in", to: "a.txt")
    try tree.symlink("link-dir", to: "a")
    try tree.symlink("link-out", to: "../outside/secret")
    try tree.symlink("link-broken", to: "nope")
    try tree.fifo("pipe")
    let listed = try FileListing.listRecursive(root: tree.root, path: nil)
    #expect(
      listed == [
        ".gitignore", "B/z", "a-b/y", "a.txt", "a/x", "link-in", "sub/node_modules/keep", "é/u",
      ])
    #expect(listed == listed.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) })
    #expect(try FileListing.listRecursive(root: tree.root, path: "a/") == ["a/x"])
  }

  /// Enough untracked files that their ignore queries are spread over
  /// several threads: the verdicts must still be git's, file by file.
  @Test func recursiveWithManyUntrackedFilesAgreesWithGit() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write(".gitignore", "*.log\n!keep*.log\n/d1/*.tmp\nd2/e0/\n")
    try tree.write("d3/.gitignore", "u1*\n")
    for index in 0..<1500 {
      let directory = "d\(index % 5)/e\(index % 3)"
      try tree.write("\(directory)/u\(index).\(["txt", "log", "tmp"][index % 3])", "")
      if index % 50 == 0 { try tree.write("\(directory)/keep\(index).log", "") }
    }
    try tree.write("d0/e0/tracked.log", "")
    try tree.write("d2/e0/tracked.txt", "")
    try tree.git("add", "-f", "d0/e0/tracked.log", "d2/e0/tracked.txt")
    let git = try tree.git("ls-files", "-co", "--exclude-standard").split(separator: "\n").map(String.init)
    let listed = try FileListing.listRecursive(root: tree.root, path: nil)
    #expect(listed.count > 600 && listed.count < 1400)
    #expect(listed == git.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    #expect(listed.contains("d0/e0/tracked.log") && listed.contains("d2/e0/tracked.txt"))
  }

  /// Tracked-file answers walk the index in path order; a conflict (three
  /// entries for one path, none at stage 0) and an index that ignores case
  /// (sorted without regard to case in memory) must still count as tracked.
  @Test(arguments: [false, true])
  func conflictedFilesAndCaseInsensitiveIndexesStayTracked(ignoreCase: Bool) throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.git("config", "core.ignorecase", ignoreCase ? "true" : "false")
    try tree.write(".gitignore", "*.log\n")
    try tree.write("a/x.log", "base\n")
    try tree.write("a/B.log", "tracked\n")
    try tree.write("a/c.txt", "")
    try tree.git("add", "-f", ".gitignore", "a/x.log", "a/B.log", "a/c.txt")
    try tree.git("commit", "-q", "-m", "base")
    try tree.git("checkout", "-q", "-b", "other")
    try tree.write("a/x.log", "other\n")
    try tree.git("commit", "-q", "-am", "other")
    try tree.git("checkout", "-q", "main")
    try tree.write("a/x.log", "main\n")
    try tree.git("commit", "-q", "-am", "main")
    #expect(throws: (any Error).self) { try tree.git("merge", "-q", "other") }
    try tree.write("a/untracked.log", "")
    try tree.write("a/A.txt", "")
    let listed = try FileListing.listRecursive(root: tree.root, path: nil)
    #expect(listed == [".gitignore", "a/A.txt", "a/B.log", "a/c.txt", "a/x.log"])
  }

  /// A warm process keeps repository handles and the index between
  /// listings: what changed on disk in between must show.
  @Test func aSecondListingSeesChangesToTheIndexAndTheRules() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write(".gitignore", "*.log\n")
    try tree.write("a.log", "")
    try tree.write("b.txt", "")
    #expect(try FileListing.listRecursive(root: tree.root, path: nil) == [".gitignore", "b.txt"])
    try tree.git("add", "-f", "a.log")
    #expect(try FileListing.listRecursive(root: tree.root, path: nil) == [".gitignore", "a.log", "b.txt"])
    try tree.write(".gitignore", "*.txt\n")
    try tree.write("c.log", "")
    #expect(try FileListing.listRecursive(root: tree.root, path: nil) == [".gitignore", "a.log", "c.log"])
  }

  /// Subdirectories are opened when their turn comes, not as soon as they
  /// are seen: a directory with more subdirectories than the process may
  /// hold descriptors still lists whole.
  @Test func recursiveListsMoreSubdirectoriesThanTheDescriptorLimit() throws {
    let tree = try TempTree()
    for index in 0..<600 { try tree.write("wide/d\(index)/f", "") }
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    var lowered = limit
    lowered.rlim_cur = min(limit.rlim_cur, 256)
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered)
    defer { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) }
    let listed = try FileListing.listRecursive(root: tree.root, path: nil)
    #expect(listed.count == 600)
  }

  /// A deep tree lists in path order like a wide one (the walk and its
  /// flattening keep their own stacks).
  @Test func recursiveListsADeepTree() throws {
    let tree = try TempTree()
    let deep = Array(repeating: "d", count: 400).joined(separator: "/")
    try tree.write(deep + "/bottom", "")
    try tree.write("d/side", "")
    try tree.write("e", "")
    #expect(try FileListing.listRecursive(root: tree.root, path: nil) == [deep + "/bottom", "d/side", "e"])
  }

  @Test func recursiveReportsProgressAndHonoursCancellation() throws {
    let tree = try TempTree()
    for index in 0..<1200 { try tree.write("d\(index % 7)/f\(index)", "") }
    let reports = Reports()
    let all = try FileListing.listRecursive(root: tree.root, path: nil, progress: { reports.append($0) })
    #expect(all.count == 1200)
    // However the threads shared the walk: counts only grow, and the last
    // one is the total.
    #expect(reports.values.last == 1200)
    #expect(reports.values == reports.values.sorted())
    #expect(throws: CancellationError.self) {
      try FileListing.listRecursive(root: tree.root, path: nil, isCancelled: { true })
    }
  }
}

final class Reports: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [Int] = []
  var values: [Int] { lock.withLock { list } }
  func append(_ value: Int) { lock.withLock { list.append(value) } }
}
