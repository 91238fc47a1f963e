import Foundation
import Synchronization
import Testing
import Workspace

@testable import Git

/// A watcher given the workspace's repositories leaves out what git ignores
/// (no watch, no read), and takes it back in when the rules, the index or
/// the repositories move: each step's watched answer against a fresh one,
/// and what the watcher reports and how many watches it holds.
@Suite(.serialized) struct WatcherIgnoredDirectoriesTests {
  final class Watched {
    let workspace: GitWorkspace
    let tracker: GitChangeTracker
    let watcher: WorkspaceWatcher
    final class Batches: Sendable {
      let list = Mutex<[WatchBatch]>([])
    }
    private let batches = Batches()

    /// A watcher of `directory` (relative to the fixture). Its first
    /// answer may fail (an unreadable index): it only warms the tracker.
    init(
      _ fixture: GitFixture, _ directory: String = "", followRules: Bool = true,
      options: WatcherOptions = WatcherOptions(debounce: .milliseconds(20))
    ) throws {
      workspace = fixture.workspace(directory)
      let tracker = GitChangeTracker(watched: workspace)
      self.tracker = tracker
      let batches = self.batches
      let started = WorkspaceWatcher(
        root: WorkspaceRoot(realPath: fixture.path(directory)), git: followRules ? workspace : nil,
        options: options,
        deliver: { batch in
          tracker.note(batch)
          batches.list.withLock { $0.append(batch) }
        })
      watcher = try #require(started)
      _ = try? tracker.collect()
    }

    deinit { watcher.stop() }

    /// The watched answer and a fresh one, after the watcher caught up.
    func answers() throws -> (tracked: [GitChange], fresh: [GitChange]) {
      #expect(watcher.sync())
      return (try tracker.collect(), try GitChanges.collect(workspace: workspace, ref: nil))
    }

    /// What the watcher reported since the last call.
    func reported() -> [WatchChange] {
      #expect(watcher.sync())
      return batches.list.withLock { batches in
        defer { batches = [] }
        return batches.flatMap(\.changes)
      }
    }

    /// Whether the watcher reported `change` within `timeout` (a polling
    /// watcher only sees it at its next rescan).
    func waitFor(_ change: WatchChange, timeout: Duration = .seconds(3)) -> Bool {
      let deadline = ContinuousClock.now + timeout
      var seen: [WatchChange] = []
      while ContinuousClock.now < deadline {
        seen += reported()
        if seen.contains(change) { return true }
        usleep(20_000)
      }
      return false
    }

    var watches: Int { watcher.state.watches }
  }

  /// `web/build/` ignored, 40 directories of one file each in it.
  static func withIgnoredBuild() throws -> GitFixture {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write(".gitignore", "build/\n")
    try fixture.write("web/src/s.txt", "s\n")
    try fixture.commitAll()
    for index in 0..<40 { try fixture.write("web/build/d\(index)/f.txt", "\(index)\n") }
    return fixture
  }

  @Test func anIgnoredDirectoryHasNoWatch() throws {
    let fixture = try Self.withIgnoredBuild()
    let all = try Watched(fixture, followRules: false).watches
    let watched = try Watched(fixture)
    #expect(watched.watches + 40 <= all, "\(watched.watches) watches, \(all) when every directory is watched")
    try fixture.write("web/build/d3/f.txt", "changed\n")
    try fixture.write("web/build/d3/new.txt", "new\n")
    #expect(watched.reported() == [])
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [])
    #expect(tracked == fresh)
  }

  @Test func unignoringByAGitignoreWatchesAndReportsIt() throws {
    let fixture = try Self.withIgnoredBuild()
    let watched = try Watched(fixture)
    let before = watched.watches
    try fixture.write(".gitignore", "other/\n")
    var (tracked, fresh) = try watched.answers()
    #expect(fresh.count == 41)
    #expect(tracked == fresh)
    #expect(watched.reported().contains(WatchChange(path: "web/build/d7/f.txt", kind: .created)))
    #expect(watched.watches >= before + 40)
    // Watched now: a file made in it is told.
    try fixture.write("web/build/d7/g.txt", "g\n")
    (tracked, fresh) = try watched.answers()
    #expect(fresh.contains(GitChange(.added, "web/build/d7/g.txt")))
    #expect(tracked == fresh)
    // Ignored again: its watches go.
    try fixture.write(".gitignore", "build/\n")
    (tracked, fresh) = try watched.answers()
    #expect(tracked == fresh)
    #expect(watched.reported().contains(WatchChange(path: "web/build/d7/g.txt", kind: .deleted)))
    #expect(watched.watches == before)
  }

  @Test func aForceAddedFileInAnIgnoredDirectoryIsWatched() throws {
    let fixture = try Self.withIgnoredBuild()
    let watched = try Watched(fixture)
    try fixture.git("add", "-f", "web/build/d5/f.txt")
    try fixture.git("commit", "-q", "-m", "forced")
    var (tracked, fresh) = try watched.answers()
    #expect(tracked == fresh)
    try fixture.write("web/build/d5/f.txt", "edited\n")
    (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "web/build/d5/f.txt")])
    #expect(tracked == fresh)
  }

  /// `info/exclude` has no watch: a sync looks at it.
  @Test func unignoringByInfoExcludeWatchesIt() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("web/src/s.txt", "s\n")
    try fixture.commitAll()
    try fixture.write(".git/info/exclude", "gen/\n")
    try fixture.write("web/gen/x.txt", "x\n")
    let watched = try Watched(fixture)
    try fixture.write(".git/info/exclude", "\n")
    var (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "web/gen/x.txt")])
    #expect(tracked == fresh)
    try fixture.write("web/gen/y.txt", "y\n")
    (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "web/gen/x.txt"), GitChange(.added, "web/gen/y.txt")])
    #expect(tracked == fresh)
  }

  /// A depth-1 repository's own rules decide below it, not the workspace's.
  @Test func aNestedRepositoryHasItsOwnRules() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write(".gitignore", "out/\n")
    try fixture.commitAll()
    try fixture.initRepository("app")
    try fixture.write("app/.gitignore", "cache/\n")
    try fixture.write("app/src/a.c", "a\n")
    try fixture.commitAll(in: "app")
    try fixture.write("app/src/out/o.txt", "o\n")
    try fixture.write("app/src/cache/c.txt", "c\n")
    let watched = try Watched(fixture)
    try fixture.write("app/src/out/p.txt", "p\n")
    try fixture.write("app/src/cache/d.txt", "d\n")
    var (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.added, "app/src/out/o.txt"), GitChange(.added, "app/src/out/p.txt")])
    #expect(tracked == fresh)
    try fixture.write("app/.gitignore", "\n")
    (tracked, fresh) = try watched.answers()
    #expect(tracked == fresh)
    try fixture.write("app/src/cache/e.txt", "e\n")
    (tracked, fresh) = try watched.answers()
    #expect(fresh.contains(GitChange(.added, "app/src/cache/e.txt")))
    #expect(tracked == fresh)
  }

  /// The monorepo case: the index lies above the workspace, where no watch
  /// sees it change, so a force-added file in an ignored directory would
  /// never be looked at again; nothing is left out there.
  @Test func aForceAddedFileInAWorkspaceBelowTheTopIsWatched() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write(".gitignore", "build/\n")
    try fixture.write("ws/web/src/s.txt", "s\n")
    try fixture.commitAll()
    try fixture.write("ws/web/build/f.txt", "f\n")
    let watched = try Watched(fixture, "ws")
    try fixture.git("add", "-f", "ws/web/build/f.txt")
    try fixture.git("commit", "-q", "-m", "forced")
    var (tracked, fresh) = try watched.answers()
    #expect(tracked == fresh)
    try fixture.write("ws/web/build/f.txt", "edited\n")
    (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "web/build/f.txt")])
    #expect(tracked == fresh)
  }

  /// Polling (a network or FUSE file system) has no watch on `.git`: no
  /// index change is seen, so nothing is left out.
  @Test func aForceAddedFileIsSeenWhenPolling() throws {
    let fixture = try Self.withIgnoredBuild()
    let watched = try Watched(
      fixture, options: WatcherOptions(backend: .polling, debounce: .milliseconds(20), rescanInterval: .milliseconds(100)))
    try fixture.git("add", "-f", "web/build/d5/f.txt")
    try fixture.git("commit", "-q", "-m", "forced")
    var (tracked, fresh) = try watched.answers()
    #expect(tracked == fresh)
    try fixture.write("web/build/d5/f.txt", "edited\n")
    #expect(watched.waitFor(WatchChange(path: "web/build/d5/f.txt", kind: .changed)))
    (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "web/build/d5/f.txt")])
    #expect(tracked == fresh)
  }

  /// A `.gitignore` that is a symlink (made before watching began) changes
  /// its rules with no event for it: nothing it ignores is left out.
  @Test func aSymlinkedGitignoreLeavesNothingOut() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("web/src/s.txt", "s\n")
    try fixture.commitAll()
    let rules = fixture.root + "-rules"
    try "build/\n".write(toFile: rules, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: rules) }
    try fixture.symlink(".gitignore", to: rules)
    try fixture.write("web/build/d/f.txt", "f\n")
    let watched = try Watched(fixture)
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    try fixture.write("web/build/d/g.txt", "g\n")
    #expect(watched.reported().contains(WatchChange(path: "web/build/d/g.txt", kind: .created)))
    let (tracked, fresh) = try watched.answers()
    #expect(fresh.contains(GitChange(.added, "web/build/d/g.txt")))
    #expect(tracked == fresh)
  }

  /// A hard-linked `.gitignore` written through its other name: no event
  /// in the workspace either. (Only the watcher's part: the tracker follows
  /// symlinked rule files, not hard-linked ones.)
  @Test func aHardLinkedGitignoreLeavesNothingOut() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("web/src/s.txt", "s\n")
    try fixture.commitAll()
    let rules = fixture.root + "-rules"
    try "build/\n".write(toFile: rules, atomically: false, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: rules) }
    #expect(link(rules, fixture.path(".gitignore")) == 0)
    try fixture.write("web/build/d/f.txt", "f\n")
    let watched = try Watched(fixture)
    try "\n".write(toFile: rules, atomically: false, encoding: .utf8)
    try fixture.write("web/build/d/g.txt", "g\n")
    #expect(watched.reported().contains(WatchChange(path: "web/build/d/g.txt", kind: .created)))
  }

  /// An index libgit2 cannot read says nothing of what is tracked: an
  /// ignored directory holding a tracked file is not left out.
  @Test func anUnreadableIndexLeavesNothingOut() throws {
    let fixture = try Self.withIgnoredBuild()
    try fixture.git("add", "-f", "web/build/d5/f.txt")
    try fixture.git("commit", "-q", "-m", "forced")
    let index = fixture.path(".git/index")
    let saved = try Data(contentsOf: URL(fileURLWithPath: index))
    try fixture.write(".git/index", "not an index\n")
    let watched = try Watched(fixture)
    try fixture.write("web/build/d5/f.txt", "edited\n")
    #expect(watched.reported().contains(WatchChange(path: "web/build/d5/f.txt", kind: .changed)))
    try saved.write(to: URL(fileURLWithPath: index))
    let (tracked, fresh) = try watched.answers()
    #expect(fresh == [GitChange(.modified, "web/build/d5/f.txt")])
    #expect(tracked == fresh)
  }
}
