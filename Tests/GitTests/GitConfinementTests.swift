import Foundation
import Testing

@testable import Git

/// CONTRACT section 8, promise 2: repositories stay inside the workspace.
///
/// Each test has a repository outside the workspace (`outside/`) holding a
/// file whose name and content appear nowhere else, and a workspace (`ws/`,
/// a repository with one committed file) that points at it in one way or
/// another. Neither the name nor the content may come back.
@Suite struct GitConfinementTests {
  static let secretName = "outside-secret-name.txt"
  static let secretContent = "OUTSIDE-SECRET-CONTENT"

  /// `outside/` committed with the secret; `ws/` committed with `own.txt`,
  /// which is then edited.
  func makeFixture() throws -> GitFixture {
    let fixture = try GitFixture()
    try fixture.initRepository("outside")
    try fixture.write("outside/" + Self.secretName, Self.secretContent + "\n")
    try fixture.commitAll(in: "outside")
    try fixture.initRepository("ws")
    try fixture.write("ws/own.txt", "own v1\n")
    try fixture.commitAll(in: "ws")
    try fixture.write("ws/own.txt", "own v2\n")
    return fixture
  }

  /// Neither the secret's name nor its content in any change or diff.
  func expectNothingOutside(_ changes: [GitChange], _ comment: Comment? = nil) {
    for change in changes {
      #expect(!change.path.contains("outside-secret"), comment)
    }
  }

  func expectNoSecret(_ body: () throws -> GitFileDiff) {
    do {
      let diff = try body()
      #expect(!diff.original.contains(Self.secretContent) && !diff.modified.contains(Self.secretContent))
    } catch {
      #expect(!String(describing: error).contains(Self.secretContent))
    }
  }

  // MARK: Nested repositories reaching outside are not opened

  @Test func nestedGitfileNamingAnOutsideRepository() throws {
    let fixture = try makeFixture()
    try fixture.write("ws/evil/.git", "gitdir: \(fixture.path("outside/.git"))\n")
    try fixture.write("ws/evil/note.txt", "the agent's own\n")
    let workspace = fixture.workspace("ws")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    // Its directory is ordinary content: the workspace repository shows a
    // directory holding `.git` as one untracked entry (and an empty one
    // not at all).
    #expect(changes == [.A("evil/"), .M("own.txt")])
    #expect(throws: GitDiffError.notFound) {
      try GitFixture.diff(workspace: workspace, path: "evil/" + Self.secretName)
    }
    // No "Subproject commit <outside HEAD>" either.
    #expect(throws: GitDiffError.isDirectory) { try GitFixture.diff(workspace: workspace, path: "evil") }
    #expect(try GitFixture.diff(workspace: workspace, path: "own.txt").modified == "own v2")
  }

  /// A FIFO where libgit2 reads a whole file (`config`, `index`,
  /// `packed-refs`, `info/exclude`) would block its open for ever, beyond
  /// any cancellation: such a repository is not opened.
  @Test(arguments: ["config", "index", "packed-refs", "info/exclude"])
  func nestedRepositoryWithAFifoIsNotOpened(file: String) throws {
    let fixture = try makeFixture()
    try fixture.initRepository("ws/app")
    try fixture.write("ws/app/mine.txt", "mine\n")
    try fixture.commitAll(in: "ws/app")
    let planted = fixture.path("ws/app/.git/" + file)
    try? FileManager.default.removeItem(atPath: planted)
    try FileManager.default.createDirectory(
      atPath: (planted as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    #expect(mkfifo(planted, 0o644) == 0)
    let workspace = fixture.workspace("ws")
    // On a thread of its own, so that a hang fails the test instead of
    // blocking the run; opening the FIFO for writing frees a stuck reader.
    nonisolated(unsafe) let shared = fixture
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      _ = try? shared.changes(workspace: workspace)
      done.signal()
    }
    let finished = done.wait(timeout: .now() + 10) == .success
    if !finished {
      let fd = open(planted, O_WRONLY | O_NONBLOCK)
      if fd >= 0 { close(fd) }
      _ = done.wait(timeout: .now() + 10)
    }
    #expect(finished, "gitChanges blocked on a FIFO at .git/\(file)")
  }

  /// A nested repository whose ref and loose objects are linked one by one
  /// to an outside repository's would read that repository's content.
  @Test(arguments: [true, false])
  func nestedRefsAndLooseObjectsLinkedOutsideAreNotOpened(linkTheRef: Bool) throws {
    let fixture = try makeFixture()
    try fixture.initRepository("ws/app")
    try fixture.write("ws/app/mine.txt", "mine\n")
    try fixture.commitAll(in: "ws/app")
    let outsideObjects = fixture.path("outside/.git/objects")
    let appObjects = fixture.path("ws/app/.git/objects")
    // Asked once before the links are planted: what was found clean then
    // must not be taken for clean after.
    _ = try fixture.changes(workspace: fixture.workspace("ws"))
    // Every outside loose object linked into the nested store, and the
    // nested branch linked to the outside branch.
    for fanout in try FileManager.default.contentsOfDirectory(atPath: outsideObjects) where fanout.count == 2 {
      try? FileManager.default.createDirectory(atPath: appObjects + "/" + fanout, withIntermediateDirectories: true)
      for object in try FileManager.default.contentsOfDirectory(atPath: outsideObjects + "/" + fanout) {
        let link = appObjects + "/" + fanout + "/" + object
        if !FileManager.default.fileExists(atPath: link) {
          try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outsideObjects + "/" + fanout + "/" + object)
        }
      }
    }
    let head = try String(contentsOfFile: fixture.path("ws/app/.git/HEAD"), encoding: .utf8)
    let branch = head.replacingOccurrences(of: "ref: ", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    try FileManager.default.removeItem(atPath: fixture.path("ws/app/.git/" + branch))
    if linkTheRef {
      try FileManager.default.createSymbolicLink(
        atPath: fixture.path("ws/app/.git/" + branch), withDestinationPath: fixture.path("outside/.git/" + branch))
    } else {
      // The outside commit's id written as the agent's own branch: known
      // from elsewhere, it needs no link to the outside ref.
      let id = try String(contentsOfFile: fixture.path("outside/.git/" + branch), encoding: .utf8)
      try fixture.write("ws/app/.git/" + branch, id)
    }
    let workspace = fixture.workspace("ws")
    expectNothingOutside(try fixture.changes(workspace: workspace))
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: "app/" + Self.secretName) }
  }

  @Test func nestedCoreWorktreeOutsideIsNotObeyed() throws {
    let fixture = try makeFixture()
    try fixture.initRepository("ws/app")
    try fixture.write("ws/app/mine.txt", "mine\n")
    try fixture.commitAll(in: "ws/app")
    try fixture.write("ws/app/mine.txt", "mine 2\n")
    try fixture.git("config", "core.worktree", fixture.path("outside"), in: "ws/app")
    let changes = try fixture.changes(in: "ws")
    expectNothingOutside(changes)
    // Its own files, in its own directory.
    #expect(changes == [.M("app/mine.txt"), .M("own.txt")])
    #expect(
      try GitFixture.diff(workspace: fixture.workspace("ws"), path: "app/mine.txt")
        == GitFileDiff(original: "mine", modified: "mine 2"))
  }

  @Test func nestedAlternatesOutsideAreNotOpened() throws {
    let fixture = try makeFixture()
    // A shared clone keeps no objects of its own: they are read through
    // objects/info/alternates, in the outside repository.
    try fixture.git("clone", "-q", "--shared", fixture.path("outside"), fixture.path("ws/shared"))
    try fixture.remove("ws/shared/" + Self.secretName)
    try fixture.write("ws/shared/note.txt", "the agent's own\n")
    let workspace = fixture.workspace("ws")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    #expect(changes == [.M("own.txt"), .A("shared/")])
    #expect(throws: GitDiffError.notFound) {
      try GitFixture.diff(workspace: workspace, path: "shared/" + Self.secretName)
    }
  }

  @Test func nestedAlternatesWithARelativePathOutside() throws {
    let fixture = try makeFixture()
    try fixture.git("clone", "-q", "--shared", fixture.path("outside"), fixture.path("ws/shared"))
    try fixture.write("ws/shared/.git/objects/info/alternates", "../../../../outside/.git/objects\n")
    try fixture.remove("ws/shared/" + Self.secretName)
    let workspace = fixture.workspace("ws")
    expectNothingOutside(try fixture.changes(workspace: workspace))
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: "shared/" + Self.secretName) }
  }

  /// A git directory of the agent's own making whose `commondir` file names
  /// the outside repository: its refs and objects would be read there.
  @Test func nestedCommondirOutsideIsNotOpened() throws {
    let fixture = try makeFixture()
    try fixture.write("ws/common/.git/HEAD", "ref: refs/heads/main\n")
    try fixture.write("ws/common/.git/commondir", fixture.path("outside/.git") + "\n")
    try fixture.write("ws/common/note.txt", "the agent's own\n")
    let workspace = fixture.workspace("ws")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    #expect(changes == [.A("common/"), .M("own.txt")])
    #expect(throws: GitDiffError.notFound) {
      try GitFixture.diff(workspace: workspace, path: "common/" + Self.secretName)
    }
    #expect(throws: GitDiffError.isDirectory) { try GitFixture.diff(workspace: workspace, path: "common") }
  }

  /// The object store itself a symlink to the outside one.
  @Test func nestedObjectsSymlinkedOutsideIsNotOpened() throws {
    let fixture = try makeFixture()
    try fixture.initRepository("ws/linked")
    try fixture.remove("ws/linked/.git/objects")
    try fixture.symlink("ws/linked/.git/objects", to: fixture.path("outside/.git/objects"))
    let head = try fixture.git("rev-parse", "HEAD", in: "outside")
    try fixture.write("ws/linked/.git/refs/heads/main", head)
    let workspace = fixture.workspace("ws")
    expectNothingOutside(try fixture.changes(workspace: workspace))
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: "linked/" + Self.secretName) }
  }

  /// Decided: a symlinked `.git` never makes a nested repository, wherever
  /// it points; its directory is ordinary content.
  @Test func nestedSymlinkedDotGitIsOrdinaryContent() throws {
    let fixture = try makeFixture()
    try FileManager.default.createDirectory(atPath: fixture.path("ws/viaLink"), withIntermediateDirectories: true)
    try fixture.symlink("ws/viaLink/.git", to: fixture.path("outside/.git"))
    try fixture.write("ws/viaLink/note.txt", "the agent's own\n")
    let workspace = fixture.workspace("ws")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    #expect(changes == [.M("own.txt"), .A("viaLink/")])
    #expect(throws: GitDiffError.notFound) {
      try GitFixture.diff(workspace: workspace, path: "viaLink/" + Self.secretName)
    }
    #expect(throws: GitDiffError.isDirectory) { try GitFixture.diff(workspace: workspace, path: "viaLink") }
  }

  /// A nested repository wholly inside (even through a gitfile) still
  /// reports its own files.
  @Test func nestedGitfileInsideStillCounts() throws {
    let fixture = try makeFixture()
    try fixture.initRepository("ws/store")
    try fixture.write("ws/store/in.txt", "in\n")
    try fixture.commitAll(in: "ws/store")
    try FileManager.default.moveItem(atPath: fixture.path("ws/store/.git"), toPath: fixture.path("ws/.store-git"))
    try fixture.write("ws/store/.git", "gitdir: ../.store-git\n")
    try fixture.write("ws/store/in.txt", "in 2\n")
    let changes = try fixture.changes(in: "ws")
    #expect(changes.contains(.M("store/in.txt")), "\(changes)")
    #expect(
      try GitFixture.diff(workspace: fixture.workspace("ws"), path: "store/in.txt")
        == GitFileDiff(original: "in", modified: "in 2"))
  }

  // MARK: The workspace repository is the one pinned at opening

  @Test func coreWorktreeRewrittenAfterOpeningIsNotObeyed() throws {
    let fixture = try makeFixture()
    let workspace = fixture.workspace("ws")
    try fixture.git("config", "core.worktree", fixture.path("outside"), in: "ws")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    #expect(changes == [.M("own.txt")])
    #expect(
      try GitFixture.diff(workspace: workspace, path: "own.txt")
        == GitFileDiff(original: "own v1", modified: "own v2"))
  }

  @Test func dotGitReplacedByAGitfileAfterOpeningIsNotFollowed() throws {
    let fixture = try makeFixture()
    let workspace = fixture.workspace("ws")
    #expect(try fixture.changes(workspace: workspace) == [.M("own.txt")])
    try FileManager.default.moveItem(atPath: fixture.path("ws/.git"), toPath: fixture.path("old-git"))
    try fixture.write("ws/.git", "gitdir: \(fixture.path("outside/.git"))\n")
    try fixture.write("ws/" + Self.secretName, "the agent's own bytes\n")
    let changes = try fixture.changes(workspace: workspace)
    expectNothingOutside(changes)
    #expect(changes == [])
    #expect(throws: GitDiffError.notRepository) {
      try GitFixture.diff(workspace: workspace, path: Self.secretName)
    }
  }

  @Test func dotGitReplacedByASymlinkAfterOpeningIsNotFollowed() throws {
    let fixture = try makeFixture()
    let workspace = fixture.workspace("ws")
    #expect(try fixture.changes(workspace: workspace) == [.M("own.txt")])
    try FileManager.default.moveItem(atPath: fixture.path("ws/.git"), toPath: fixture.path("old-git"))
    try fixture.symlink("ws/.git", to: fixture.path("outside/.git"))
    try fixture.write("ws/" + Self.secretName, "the agent's own bytes\n")
    expectNothingOutside(try fixture.changes(workspace: workspace))
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: Self.secretName) }
  }

  /// The pinned git directory itself rewritten: alternates added that
  /// reach the outside store, and a branch naming the outside commit.
  @Test func alternatesAddedToThePinnedRepositoryAreRefused() throws {
    let fixture = try makeFixture()
    let workspace = fixture.workspace("ws")
    try fixture.write("ws/.git/objects/info/alternates", fixture.path("outside/.git/objects") + "\n")
    let head = try fixture.git("rev-parse", "HEAD", in: "outside")
    try fixture.write("ws/.git/refs/heads/stolen", head)
    #expect(throws: GitChangesError.self) { try GitChanges.collect(workspace: workspace, ref: "stolen") }
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: Self.secretName, ref: "stolen") }
  }

  /// A new repository made in a workspace that had none counts when it is
  /// wholly inside; a gitfile naming an outside one does not.
  @Test func aRepositoryAppearingLaterMustLieInside() throws {
    let fixture = try makeFixture()
    try FileManager.default.createDirectory(atPath: fixture.path("late"), withIntermediateDirectories: true)
    try fixture.write("late/" + Self.secretName, "the agent's own bytes\n")
    let workspace = fixture.workspace("late")
    #expect(try fixture.changes(workspace: workspace) == [])
    try fixture.write("late/.git", "gitdir: \(fixture.path("outside/.git"))\n")
    #expect(try fixture.changes(workspace: workspace) == [])
    expectNoSecret { try GitFixture.diff(workspace: workspace, path: Self.secretName) }
    try fixture.remove("late/.git")
    try fixture.initRepository("late")
    #expect(try fixture.changes(workspace: workspace) == [.A(Self.secretName)])
  }

  /// A workspace below a larger working tree: its own part, answered from
  /// the repository above (pinned as trusted), whatever happens later to
  /// the inside.
  @Test func workspaceInsideALargerTreeKeepsItsRepository() throws {
    let fixture = try makeFixture()
    try fixture.write("ws/sub/in.txt", "in\n")
    try fixture.commitAll(in: "ws")
    try fixture.write("ws/sub/in.txt", "in 2\n")
    let workspace = fixture.workspace("ws/sub")
    #expect(try fixture.changes(workspace: workspace) == [.M("in.txt")])
    try fixture.write("ws/sub/.git", "gitdir: \(fixture.path("outside/.git"))\n")
    #expect(try fixture.changes(workspace: workspace) == [.M("in.txt")])
    #expect(
      try GitFixture.diff(workspace: workspace, path: "in.txt") == GitFileDiff(original: "in", modified: "in 2"))
  }

  // MARK: Finding repositories as git does

  /// The search that replaces libgit2's agrees with git's on the shapes a
  /// workspace has: a plain repository and a directory inside it, a linked
  /// worktree, a submodule (its `.git` a gitfile into the superproject).
  @Test func findingAgreesWithGit() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("main")
    try fixture.write("main/sub/dir/f.txt", "f\n")
    try fixture.commitAll(in: "main")
    try fixture.git("worktree", "add", "-q", "-b", "wt", "../linked", in: "main")
    try fixture.initRepository("library")
    try fixture.write("library/l.txt", "l\n")
    try fixture.commitAll(in: "library")
    try fixture.git(
      ["-c", "protocol.file.allow=always", "submodule", "add", "-q", fixture.path("library"), "vendor/library"],
      in: "main")
    for directory in ["main", "main/sub/dir", "linked", "main/vendor/library"] {
      let found = try #require(FoundRepository.find(from: fixture.path(directory), search: true), "\(directory)")
      func real(_ text: String) -> String? {
        FileSystem.realPath(text.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      #expect(found.gitdir == real(try fixture.git("rev-parse", "--absolute-git-dir", in: directory)), "\(directory)")
      #expect(found.workdir == real(try fixture.git("rev-parse", "--show-toplevel", in: directory)), "\(directory)")
      let common = try fixture.git("rev-parse", "--git-common-dir", in: directory)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      #expect(
        found.commondir == FileSystem.realPath(common.hasPrefix("/") ? common : fixture.path(directory) + "/" + common),
        "\(directory)")
    }
    #expect(FoundRepository.find(from: fixture.path("main/.git/refs"), search: true) == nil)
    #expect(FoundRepository.find(from: fixture.path("main/sub"), search: false) == nil)
  }
}
