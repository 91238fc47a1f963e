import Foundation
import Testing
import Workspace

@testable import Git

/// The cases a watched workspace's events do not fully name, where the
/// tracker must compare everything rather than answer from a stale memory:
/// each step's answer against a fresh full one.
@Suite(.serialized) struct GitChangeTrackerFallbackTests {
  /// A tracker fed by a watcher of `directory` (relative to the fixture).
  final class Watched {
    let workspace: GitWorkspace
    let tracker: GitChangeTracker
    let watcher: WorkspaceWatcher

    init(_ fixture: GitFixture, _ directory: String = "") throws {
      workspace = fixture.workspace(directory)
      let tracker = GitChangeTracker(watched: workspace)
      self.tracker = tracker
      let started = WorkspaceWatcher(
        root: WorkspaceRoot(realPath: fixture.path(directory)), git: workspace,
        options: WatcherOptions(debounce: .milliseconds(20)),
        deliver: { tracker.note($0) })
      watcher = try #require(started)
      _ = try tracker.collect()
    }

    deinit { watcher.stop() }

    /// The watched answer and a fresh one, after the watcher caught up.
    func answers() throws -> (tracked: [GitChange], fresh: [GitChange]) {
      #expect(watcher.sync())
      return (try tracker.collect(), try GitChanges.collect(workspace: workspace, ref: nil))
    }
  }

  static func committed() throws -> GitFixture {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("a.txt", "a\n")
    try fixture.commitAll()
    return fixture
  }

  @Test func aNameThatIsNotUTF8IsCompared() throws {
    let fixture = try Self.committed()
    let watched = try Watched(fixture)
    let name = Array(fixture.path("f").utf8) + [0xFF] + Array(".txt".utf8) + [0]
    let descriptor = name.withUnsafeBufferPointer {
      $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
    }
    #expect(descriptor >= 0)
    _ = write(descriptor, "x\n", 2)
    close(descriptor)
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "f\u{FFFD}.txt")])
    #expect(tracked == fresh)
  }

  /// The monorepo case: rules above the workspace apply inside it.
  @Test func rulesAboveAWorkspaceBelowTheTopAreStamped() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("sub/dir/a.txt", "a\n")
    try fixture.commitAll()
    let watched = try Watched(fixture, "sub/dir")
    try fixture.write("sub/dir/new.log", "x\n")
    #expect(try watched.answers().tracked == [GitChange(.added, "new.log")])
    for file in [".gitignore", "sub/.gitignore"] {
      try fixture.write(file, "*.log\n")
      let (tracked, fresh) = try watched.answers()
      #expect(fresh == [], "\(file)")
      #expect(tracked == fresh, "\(file)")
      try fixture.remove(file)
      let (again, freshAgain) = try watched.answers()
      #expect(again == freshAgain, "\(file) removed")
    }
  }

  @Test func anExcludesFileNamedByTheConfigIsFollowed() throws {
    let fixture = try Self.committed()
    let excludes = fixture.root + "-excludes"
    try "".write(toFile: excludes, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: excludes) }
    try fixture.git("config", "core.excludesFile", excludes)
    let watched = try Watched(fixture)
    try fixture.write("new.log", "x\n")
    #expect(try watched.answers().tracked == [GitChange(.added, "new.log")])
    try "*.log\n".write(toFile: excludes, atomically: false, encoding: .utf8)
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [])
    #expect(tracked == fresh)
  }

  @Test func aCommittedSymlinkedGitignoreIsFollowed() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("rules", "\n")
    try fixture.write("sub/a.txt", "a\n")
    try fixture.symlink("sub/.gitignore", to: "../rules")
    try fixture.commitAll()
    let watched = try Watched(fixture)
    try fixture.write("sub/new.log", "x\n")
    #expect(try watched.answers().tracked == [GitChange(.added, "sub/new.log")])
    try fixture.write("rules", "*.log\n")
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "rules")])
    #expect(tracked == fresh)
  }

  @Test func aSymlinkedGitignoreMadeWhileWatchedIsFollowed() throws {
    let fixture = try Self.committed()
    let rules = fixture.root + "-rules"
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: rules) }
    let watched = try Watched(fixture)
    try fixture.write("sub/new.log", "x\n")
    try fixture.symlink("sub/.gitignore", to: rules)
    #expect(try watched.answers().tracked == [GitChange(.added, "sub/.gitignore"), GitChange(.added, "sub/new.log")])
    try "*.log\n".write(toFile: rules, atomically: false, encoding: .utf8)
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "sub/.gitignore")])
    #expect(tracked == fresh)
  }

  /// Untracked and made before the watcher started: no event ever names it.
  @Test func anUntrackedSymlinkedGitignoreMadeBeforeWatchingIsFollowed() throws {
    let fixture = try Self.committed()
    let rules = fixture.root + "-rules"
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: rules) }
    try fixture.write("sub/new.log", "x\n")
    try fixture.symlink("sub/.gitignore", to: rules)
    let watched = try Watched(fixture)
    #expect(try watched.answers().tracked == [GitChange(.added, "sub/.gitignore"), GitChange(.added, "sub/new.log")])
    try "*.log\n".write(toFile: rules, atomically: false, encoding: .utf8)
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "sub/.gitignore")])
    #expect(tracked == fresh)
  }

  /// Rewrites a file in place, so that every hard link to it sees the change.
  static func rewrite(_ path: String, _ content: String) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: Data(content.utf8))
    try handle.close()
  }

  static func links(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_nlink) : 0
  }

  /// A hard-linked `.gitignore` changes through its other name (here
  /// outside the workspace) with no event for it; made before the watcher
  /// started, no event ever names it either.
  @Test func aHardLinkedGitignoreMadeBeforeWatchingIsFollowed() throws {
    let fixture = try Self.committed()
    let rules = fixture.root + "-rules"
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: rules) }
    try fixture.write("sub/new.log", "x\n")
    try FileManager.default.linkItem(atPath: rules, toPath: fixture.path("sub/.gitignore"))
    let watched = try Watched(fixture)
    #expect(try watched.answers().tracked == [GitChange(.added, "sub/.gitignore"), GitChange(.added, "sub/new.log")])
    try Self.rewrite(rules, "*.log\n")
    #expect(Self.links(fixture.path("sub/.gitignore")) == 2)
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "sub/.gitignore")])
    #expect(tracked == fresh)
    try Self.rewrite(rules, "\n")
    let (again, freshAgain) = try watched.answers()
    #expect(freshAgain == [GitChange(.added, "sub/.gitignore"), GitChange(.added, "sub/new.log")])
    #expect(again == freshAgain)
  }

  /// Committed, then linked while watched: the link's creation is an event,
  /// the writes through the other name are not.
  @Test func aHardLinkedGitignoreMadeWhileWatchedIsFollowed() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("sub/a.txt", "a\n")
    try fixture.write("sub/.gitignore", "\n")
    try fixture.commitAll()
    let rules = fixture.root + "-rules"
    defer { try? FileManager.default.removeItem(atPath: rules) }
    let watched = try Watched(fixture)
    try fixture.write("sub/new.log", "x\n")
    try fixture.remove("sub/.gitignore")
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    try FileManager.default.linkItem(atPath: rules, toPath: fixture.path("sub/.gitignore"))
    #expect(try watched.answers().tracked == [GitChange(.added, "sub/new.log")])
    try Self.rewrite(rules, "*.log\n")
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "sub/.gitignore")])
    #expect(tracked == fresh)
    try Self.rewrite(rules, "\n")
    let (again, freshAgain) = try watched.answers()
    #expect(freshAgain == [GitChange(.added, "sub/new.log")])
    #expect(again == freshAgain)
  }

  /// A write no event told (through an `mmap`, or a watch that missed it)
  /// is in the answer once the last full comparison is old enough.
  @Test func anUntoldWriteIsFoundOnceTheFullScanIsOld() throws {
    let fixture = try Self.committed()
    let workspace = fixture.workspace()
    let tracker = GitChangeTracker(workspace: workspace, fullEvery: .milliseconds(300))
    #expect(try tracker.collect() == [])
    try fixture.write("a.txt", "changed, untold\n")
    try fixture.write("b.txt", "b\n")
    tracker.invalidate(["b.txt"])
    #expect(try tracker.collect() == [GitChange(.added, "b.txt")])
    #expect(tracker.narrowedScans == 1)
    Thread.sleep(forTimeInterval: 0.4)
    #expect(try tracker.collect() == [GitChange(.modified, "a.txt"), GitChange(.added, "b.txt")])
  }

  @Test func networkAndFUSEFileSystemsAreTold() {
    for type in [0x6969, 0xFF53_4D42, 0x6573_5546, 0x0102_1997] { #expect(RemoteFileSystem.isRemote(type: type)) }
    // ext4, tmpfs, overlay (a container's own disk), btrfs.
    for type in [0xEF53, 0x0102_1994, 0x794C_7630, 0x9123_683E] { #expect(!RemoteFileSystem.isRemote(type: type)) }
    #expect(!RemoteFileSystem.holds(NSTemporaryDirectory()))
  }
}
