import Foundation
import Testing

@testable import Git

@Suite struct GitChangesTests {
  @Test func ownerValidationIsOff() {
    #expect(LibGit2.ownerValidation == false)
  }

  @Test func notARepositoryIsEmpty() throws {
    let fixture = try GitFixture()
    try fixture.write("file.txt", "hello\n")
    #expect(try fixture.changes() == [])
    #expect(try fixture.changes(ref: "main") == [])
  }

  /// The reference's "clone with origin" outcome, with paths OpenHands broke on.
  @Test func cloneOfBareOrigin() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("seed")
    for name in ["bin.dat", "del.txt", "mod.txt", "ren_old.txt", "keep.txt"] {
      try fixture.write("seed/" + name, "content of \(name)\n")
    }
    try fixture.commitAll(in: "seed")
    try fixture.git("clone", "-q", "--bare", "seed", "origin.git")
    try fixture.git("clone", "-q", "origin.git", "work")
    try fixture.write("work/bin.dat", Data([0, 1, 2, 255]))
    try fixture.remove("work/del.txt")
    try fixture.write("work/mod.txt", "changed\n")
    try fixture.git("mv", "ren_old.txt", "ren_new.txt", in: "work")
    try fixture.write("work/staged_new.txt", "new\n")
    try fixture.git("add", "staged_new.txt", in: "work")
    try fixture.write("work/with space.txt", "space\n")

    let found = try fixture.changes(in: "work")
    #expect(
      found == [
        .M("bin.dat"), .D("del.txt"), .M("mod.txt"), .A("ren_new.txt"), .D("ren_old.txt"),
        .A("staged_new.txt"), .A("with space.txt"),
      ])
    #expect(found == (try fixture.oracleChanges(base: fixture.oracleBase(in: "work"), in: "work")))
  }

  @Test func unbornBranchComparesWithTheEmptyTree() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("staged.txt", "s\n")
    try fixture.git("add", "staged.txt")
    try fixture.write("untracked.txt", "u\n")
    #expect(try fixture.changes() == [.A("staged.txt"), .A("untracked.txt")])
    // HEAD names nothing yet, which is the empty tree, not an unknown ref.
    #expect(try fixture.changes(ref: "HEAD") == [.A("staged.txt"), .A("untracked.txt")])
  }

  /// OpenHands listed every tracked file as added here; HEAD is the base.
  @Test func noRemoteComparesWithHead() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("a.txt", "a\n")
    try fixture.write("b.txt", "b\n")
    try fixture.write("c.txt", "c\n")
    try fixture.commitAll()
    try fixture.write("a.txt", "a2\n")
    try fixture.remove("b.txt")
    #expect(try fixture.changes() == [.M("a.txt"), .D("b.txt")])
  }

  @Test func unpushedCommitsStayVisibleOnABranchWithoutUpstream() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("seed")
    try fixture.write("seed/base.txt", "base\n")
    try fixture.commitAll(in: "seed")
    try fixture.git("clone", "-q", "--bare", "seed", "origin.git")
    try fixture.git("clone", "-q", "origin.git", "work")
    try fixture.git("checkout", "-q", "-b", "openhands-workspace-abc", in: "work")
    try fixture.write("work/committed.txt", "c\n")
    try fixture.commitAll(in: "work")
    try fixture.write("work/base.txt", "edited\n")
    let workspace = fixture.path("work")
    // merge-base(HEAD, origin/main): the fork point.
    #expect(try fixture.changes(in: "work") == [.M("base.txt"), .A("committed.txt")])
    // Detached at the same commit: no branch, so the merge-base again.
    try fixture.git("checkout", "-q", "--detach", in: "work")
    #expect(try fixture.changes(in: "work") == [.M("base.txt"), .A("committed.txt")])
    // An explicit ref wins over everything.
    #expect(try fixture.changes(ref: "HEAD", in: "work") == [.M("base.txt")])
    _ = workspace
  }

  @Test func upstreamBranchIsTheBase() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("seed")
    try fixture.write("seed/f.txt", "1\n")
    try fixture.commitAll(in: "seed")
    try fixture.git("checkout", "-q", "-b", "feature", in: "seed")
    try fixture.write("seed/g.txt", "feature\n")
    try fixture.commitAll(in: "seed")
    try fixture.git("checkout", "-q", "main", in: "seed")
    try fixture.git("clone", "-q", "seed", "work")
    try fixture.git("checkout", "-q", "feature", in: "work")
    try fixture.write("work/h.txt", "local\n")
    try fixture.commitAll(in: "work")
    // origin/feature, not the fork point with main.
    #expect(try fixture.changes(in: "work") == [.A("h.txt")])
  }

  @Test func unknownRefIsRefused() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("a.txt", "a\n")
    try fixture.commitAll()
    #expect {
      try fixture.changes(ref: "no-such-branch")
    } throws: { error in
      if case GitChangesError.unknownRef("no-such-branch") = error { return true }
      return false
    }
    try fixture.write("a.txt", "b\n")
    try fixture.write("b.txt", "b\n")
    try fixture.commitAll()
    #expect(try fixture.changes(ref: "HEAD~1") == [.M("a.txt"), .A("b.txt")])
  }

  @Test func nestedRepositoriesAreReportedWithARealBoundary() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("apple.txt", "apple\n")
    try fixture.commitAll()
    try fixture.write("apple.txt", "apple 2\n")
    try fixture.initRepository("app")
    try fixture.write("app/main.swift", "print(1)\n")
    try fixture.commitAll(in: "app")
    try fixture.write("app/main.swift", "print(2)\n")
    try fixture.write("app/new.swift", "\n")
    // Hidden children are not scanned: the root shows them as git does.
    try fixture.initRepository(".hidden")
    try fixture.write(".hidden/x", "x\n")
    // An untracked repository deeper down is one `dir/` entry.
    try fixture.initRepository("deep/inner")
    try fixture.write("deep/inner/y", "y\n")
    #expect(
      try fixture.changes() == [
        .A(".hidden/"), .M("app/main.swift"), .A("app/new.swift"), .M("apple.txt"), .A("deep/inner/"),
      ])
  }

  @Test func childrenAreReportedWhenTheWorkspaceIsNoRepository() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("one")
    try fixture.write("one/a", "a\n")
    try fixture.initRepository("two")
    try fixture.write("two/b", "b\n")
    try fixture.commitAll(in: "two")
    try fixture.remove("two/b")
    try fixture.write("loose.txt", "not in any repo\n")
    let found = try fixture.changes()
    #expect(found == [.A("one/a"), .D("two/b")], "\(found)")
    // `ref` is for the workspace repository; there is none, so it is moot.
    #expect(try fixture.changes(ref: "anything") == [.A("one/a"), .D("two/b")])
  }

  @Test func worktreeChildWithAGitFileCounts() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("ws/main-repo")
    try fixture.write("ws/main-repo/f.txt", "f\n")
    try fixture.commitAll(in: "ws/main-repo")
    try fixture.git("worktree", "add", "-q", "-b", "wt", "../checkout", in: "ws/main-repo")
    try fixture.write("ws/checkout/f.txt", "changed\n")
    #expect(try fixture.changes(in: "ws") == [.M("checkout/f.txt")])
  }

  /// A linked worktree whose main repository is outside the workspace
  /// reads its index and objects there: not opened.
  @Test func worktreeChildOfAnOutsideRepositoryIsNotOpened() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("main-repo")
    try fixture.write("main-repo/outside-only.txt", "f\n")
    try fixture.commitAll(in: "main-repo")
    try fixture.git("worktree", "add", "-q", "-b", "wt", "../ws/checkout", in: "main-repo")
    try fixture.remove("ws/checkout/outside-only.txt")
    #expect(try fixture.changes(in: "ws") == [])
  }

  @Test func awkwardPathsComeBackRawAndInCodePointOrder() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    let names = [
      "with space.txt", "tab\there.txt", "new\nline.txt", "quote\"d.txt", "back\\slash.txt", "café.txt",
      "日本語.txt", "Zeta.txt", "alpha.txt", ".dot", "emoji 😀.txt",
    ]
    for name in names { try fixture.write(name, "old \(name)\n") }
    try fixture.commitAll()
    for name in names { try fixture.write(name, "new \(name)\n") }
    try fixture.write("untracked é\t\"x\".txt", "u\n")
    let found = try fixture.changes()
    #expect(found == (try fixture.oracleChanges(base: "HEAD")))
    #expect(found.count == names.count + 1)
    let paths = found.map(\.path)
    #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    #expect(paths.first == ".dot")
    #expect(paths.contains("new\nline.txt"))
  }

  @Test func typechangesAndModeChangesAreModified() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("link-me", "file\n")
    try fixture.write("script.sh", "echo\n")
    try fixture.commitAll()
    try fixture.remove("link-me")
    try fixture.symlink("link-me", to: "script.sh")
    try fixture.chmod("script.sh", 0o755)
    #expect(try fixture.changes() == [.M("link-me"), .M("script.sh")])
    #expect(try fixture.changes() == (try fixture.oracleChanges(base: "HEAD")))
  }

  @Test func conflictsAreUnmerged() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("f.txt", "base\n")
    try fixture.write("other.txt", "o\n")
    try fixture.commitAll()
    try fixture.git("checkout", "-q", "-b", "theirs")
    try fixture.write("f.txt", "theirs\n")
    try fixture.commitAll()
    try fixture.git("checkout", "-q", "main")
    try fixture.write("f.txt", "ours\n")
    try fixture.write("other.txt", "o2\n")
    try fixture.commitAll()
    try fixture.git(["merge", "theirs"], allowFailure: true)
    #expect(try fixture.changes() == [.U("f.txt")])
    try fixture.write("other.txt", "o3\n")
    #expect(try fixture.changes() == [.U("f.txt"), .M("other.txt")])
  }

  @Test func indexAndWorkingTreeBlendLikeGit() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    for name in ["cached", "reverted", "restaged", "gone-after-staging"] { try fixture.write(name, "\(name)\n") }
    try fixture.commitAll()
    // Out of the index but still on disk: deleted and untracked at once.
    try fixture.git("rm", "-q", "--cached", "cached")
    // Staged, then undone on disk: the working tree equals the base.
    try fixture.write("reverted", "staged change\n")
    try fixture.git("add", "reverted")
    try fixture.write("reverted", "reverted\n")
    // Staged, then changed again.
    try fixture.write("restaged", "one\n")
    try fixture.git("add", "restaged")
    try fixture.write("restaged", "two\n")
    // Staged modification, then deleted.
    try fixture.write("gone-after-staging", "x\n")
    try fixture.git("add", "gone-after-staging")
    try fixture.remove("gone-after-staging")
    // Added to the index, then deleted: nothing.
    try fixture.write("phantom", "p\n")
    try fixture.git("add", "phantom")
    try fixture.remove("phantom")
    let expected: [GitChange] = [.A("cached"), .D("cached"), .D("gone-after-staging"), .M("restaged")]
    #expect(try fixture.changes() == expected)
    #expect(try fixture.oracleChanges(base: "HEAD") == expected)
  }

  @Test func ignoredFilesStayOutAndUntrackedDirectoriesAreRecursed() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write(".gitignore", "*.log\nbuild/\n")
    try fixture.write("tracked.log", "kept because tracked\n")
    try fixture.git("add", "-f", "tracked.log")
    try fixture.commitAll()
    try fixture.write("tracked.log", "changed\n")
    try fixture.write("debug.log", "ignored\n")
    try fixture.write("build/out.o", "ignored\n")
    try fixture.write("src/deep/er/file.swift", "new\n")
    try fixture.write("src/deep/skip.log", "ignored\n")
    try fixture.write("git/info-exclude-me", "x\n")
    try fixture.write(".git/info/exclude", "git/\n")
    let expected: [GitChange] = [.A("src/deep/er/file.swift"), .M("tracked.log")]
    #expect(try fixture.changes() == expected)
    #expect(try fixture.oracleChanges(base: "HEAD") == expected)
  }

  @Test func autocrlfAndWarningConfigDoNotMatter() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.git("config", "core.autocrlf", "true")
    try fixture.git("config", "core.safecrlf", "warn")
    try fixture.write("lf.txt", "one\ntwo\n")
    try fixture.write("crlf.txt", "one\r\ntwo\r\n")
    try fixture.commitAll()
    try fixture.write("lf.txt", "one\ntwo\nthree\n")
    try fixture.write("new.txt", "x\n")
    let found = try fixture.changes()
    #expect(found == [.M("lf.txt"), .A("new.txt")])
    #expect(found == (try fixture.oracleChanges(base: "HEAD")))
  }

  @Test func workspaceInsideALargerWorkingTreeSeesItsOwnPart() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("outside.txt", "o\n")
    try fixture.write("sub/dir/in.txt", "i\n")
    try fixture.commitAll()
    try fixture.write("outside.txt", "o2\n")
    try fixture.write("sub/dir/in.txt", "i2\n")
    try fixture.write("sub/dir/new.txt", "n\n")
    try fixture.write("sub/sibling.txt", "s\n")
    let found = try fixture.changes(in: "sub/dir")
    #expect(found == [.M("in.txt"), .A("new.txt")])
    let diff = try GitFixture.diff(workspace: fixture.path("sub/dir"), path: "in.txt")
    #expect(diff == GitFileDiff(original: "i", modified: "i2"))
  }

  @Test func repositoryOwnedByAnotherUserOpens() throws {
    guard getuid() == 0 else { return }  // only root can give files away
    let fixture = try GitFixture()
    try fixture.initRepository("repo")
    try fixture.write("repo/a.txt", "a\n")
    try fixture.commitAll(in: "repo")
    try fixture.write("repo/a.txt", "b\n")
    #expect(chownTree(fixture.path("repo"), uid: 65534, gid: 65534))
    #expect(try fixture.changes(in: "repo") == [.M("a.txt")])
    #expect(
      try GitFixture.diff(workspace: fixture.path("repo"), path: "a.txt")
        == GitFileDiff(original: "a", modified: "b"))
  }

  @Test func cancellationStopsTheScan() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    for index in 0..<600 { try fixture.write("f\(index).txt", "\(index)\n") }
    #expect {
      try GitChanges.collect(workspace: fixture.workspace(), ref: nil, isCancelled: { true })
    } throws: { error in
      if case GitChangesError.cancelled = error { return true }
      return false
    }
  }

  /// Handles are kept between requests; what they cache must not go stale.
  @Test func warmHandlesSeeConfigIndexAndNewRepositories() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("crlf.txt", "a\r\nb\r\n")
    try fixture.write("sub/inner.txt", "i\n")
    try fixture.commitAll()
    #expect(try fixture.changes() == [])
    // With autocrlf the committed CRLF now differs from what `add` would store.
    try fixture.git("config", "core.autocrlf", "true")
    try fixture.git(["update-index", "--really-refresh"], allowFailure: true)
    try fixture.write("crlf.txt", "a\r\nb\r\nc\r\n")
    #expect(try fixture.changes() == (try fixture.oracleChanges(base: "HEAD")))
    try fixture.git("add", "-A")
    #expect(try fixture.changes() == (try fixture.oracleChanges(base: "HEAD")))
    // The workspace "sub" was seen through the repository above it; a new
    // repository right there takes over.
    #expect(try fixture.changes(in: "sub") == [])
    try fixture.initRepository("sub")
    #expect(try fixture.changes(in: "sub") == [.A("inner.txt")])
  }

  @Test func cancellationStopsTheThreadedScan() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    for index in 0..<2000 { try fixture.write("d\(index % 10)/f\(index).txt", "\(index)\n") }
    #expect {
      try GitChanges.collect(
        workspace: fixture.workspace(), ref: nil, isCancelled: { true }, tuning: GitFixture.forcedParallel)
    } throws: { error in
      if case GitChangesError.cancelled = error { return true }
      return false
    }
  }

  @Test func twentyThousandFiles() throws {
    let fixture = try GitFixture(inMemory: true)
    try fixture.initRepository()
    for directory in 0..<100 {
      for file in 0..<200 {
        try fixture.write("d\(directory)/f\(file).txt", "\(directory) \(file)\n")
      }
    }
    try fixture.commitAll()
    for directory in stride(from: 0, to: 100, by: 10) {
      try fixture.write("d\(directory)/f7.txt", "changed\n")
    }
    try fixture.remove("d5/f5.txt")
    try fixture.write("d99/new.txt", "new\n")
    let found = try fixture.changes()
    #expect(found.count == 12)
    #expect(found == (try fixture.oracleChanges(base: "HEAD")))
  }
}

/// chown -R without a process: the tests give a repository away to check
/// that libgit2's owner validation is off.
func chownTree(_ path: String, uid: uid_t, gid: gid_t) -> Bool {
  guard lchown(path, uid, gid) == 0 else { return false }
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
    return true
  }
  let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
  return names.allSatisfy { chownTree(path + "/" + $0, uid: uid, gid: gid) }
}
