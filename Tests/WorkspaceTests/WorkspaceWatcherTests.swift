import Foundation
import Synchronization
import Testing
import Workspace

/// What a watcher delivered, for tests to wait on.
final class WatchRecorder: Sendable {
  private let batches = Mutex<[WatchBatch]>([])
  private let logged = Mutex<[String]>([])

  var all: [WatchBatch] { batches.withLock { $0 } }
  var logs: [String] { logged.withLock { $0 } }
  var changes: [WatchChange] { all.flatMap(\.changes) }

  func record(_ batch: WatchBatch) { batches.withLock { $0.append(batch) } }
  func log(_ line: String) { logged.withLock { $0.append(line) } }

  func start(_ tree: TempTree, _ options: WatcherOptions) throws -> WorkspaceWatcher {
    let watcher = WorkspaceWatcher(
      root: tree.root, options: options, log: { self.log($0) }, deliver: { self.record($0) })
    return try #require(watcher)
  }

  /// Waits until `done` holds for everything delivered so far.
  @discardableResult
  func wait(seconds: Double = 5, until done: (WatchRecorder) -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
      if done(self) { return true }
      usleep(10_000)
    }
    return done(self)
  }

  func saw(_ path: String, _ kind: WatchChange.Kind) -> Bool {
    changes.contains(WatchChange(path: path, kind: kind))
  }

  func clear() { batches.withLock { $0 = [] } }
}

@Suite(.serialized) struct WorkspaceWatcherTests {
  static let backends: [WatcherOptions] = [
    WatcherOptions(debounce: .milliseconds(20)),
    WatcherOptions(backend: .polling, debounce: .milliseconds(20), rescanInterval: .milliseconds(100)),
  ]

  @Test(arguments: backends) func filesCreatedModifiedDeleted(options: WatcherOptions) throws {
    let tree = try TempTree()
    try tree.write("keep.txt", "x")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, options)
    defer { watcher.stop() }
    try tree.write("a.txt", "one")
    #expect(recorder.wait { $0.saw("a.txt", .created) })
    recorder.clear()
    try tree.write("a.txt", "two, longer")
    #expect(recorder.wait { $0.saw("a.txt", .changed) })
    recorder.clear()
    try FileManager.default.removeItem(atPath: tree.path + "/a.txt")
    #expect(recorder.wait { $0.saw("a.txt", .deleted) })
    #expect(!recorder.changes.contains { $0.path == "keep.txt" })
  }

  @Test(arguments: backends) func directoriesAndRenames(options: WatcherOptions) throws {
    let tree = try TempTree()
    try tree.write("old/inner/x.txt", "x")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, options)
    defer { watcher.stop() }
    try tree.mkdir("empty")
    #expect(recorder.wait { $0.saw("empty/", .created) })
    try FileManager.default.removeItem(atPath: tree.path + "/empty")
    #expect(recorder.wait { $0.saw("empty/", .deleted) })
    recorder.clear()

    try FileManager.default.moveItem(atPath: tree.path + "/old", toPath: tree.path + "/new")
    #expect(
      recorder.wait {
        $0.saw("old/", .deleted) && $0.saw("old/inner/x.txt", .deleted) && $0.saw("new/", .created)
          && $0.saw("new/inner/", .created) && $0.saw("new/inner/x.txt", .created)
      })
    recorder.clear()
    // The moved directory is watched under its new name.
    try tree.write("new/inner/x.txt", "changed, longer")
    #expect(recorder.wait { $0.saw("new/inner/x.txt", .changed) })
    recorder.clear()
    try FileManager.default.moveItem(atPath: tree.path + "/new/inner/x.txt", toPath: tree.path + "/y.txt")
    #expect(recorder.wait { $0.saw("new/inner/x.txt", .deleted) && $0.saw("y.txt", .created) })
  }

  /// A directory deleted and made again in one debounce window usually gets
  /// its old inode number back; the new one is still watched and read.
  @Test func directoryReplacedUnderTheSameNameIsWatchedAgain() throws {
    let tree = try TempTree()
    try tree.write("d/old.txt", "x")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, WatcherOptions(debounce: .milliseconds(300)))
    defer { watcher.stop() }
    for round in 0..<5 {
      recorder.clear()
      try run("/bin/sh", ["-c", "rm -rf d && mkdir d"], in: tree.path)
      #expect(watcher.sync())
      try tree.write("d/late\(round).txt", "x")
      #expect(watcher.sync())
      #expect(recorder.wait(seconds: 2) { $0.saw("d/late\(round).txt", .created) }, "round \(round)")
    }
  }

  /// Made and filled by one process before any watch can land on them.
  @Test(arguments: backends) func nestedDirectoryCreatedAndFilledAtOnce(options: WatcherOptions) throws {
    let tree = try TempTree()
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, options)
    defer { watcher.stop() }
    try run("/bin/sh", ["-c", "mkdir -p n/a/b/c && for i in $(seq 1 50); do echo $i > n/a/b/c/f$i; done"], in: tree.path)
    let expected = ["n/", "n/a/", "n/a/b/", "n/a/b/c/"] + (1...50).map { "n/a/b/c/f\($0)" }
    #expect(recorder.wait { r in expected.allSatisfy { r.saw($0, .created) } })
    // And watched: a later write there is seen.
    try tree.write("n/a/b/c/late.txt", "x")
    #expect(recorder.wait { $0.saw("n/a/b/c/late.txt", .created) })
    let paths = recorder.changes.map(\.path)
    #expect(paths.count == Set(paths).count || recorder.all.count > 1)
  }

  @Test func droppedNamesAreNotReportedButGitMetadataIs() throws {
    let tree = try TempTree()
    try tree.git("init", "-q")
    try tree.write("tracked.txt", "x")
    try tree.git("add", "tracked.txt")
    try tree.git("commit", "-qm", "first")
    try tree.mkdir("node_modules")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, WatcherOptions(debounce: .milliseconds(20)))
    defer { watcher.stop() }
    #expect(watcher.state.mode == .events)
    try tree.write("node_modules/pkg/index.js", "x")
    try tree.write(".git/objects/stray", "x")
    try tree.write("sub/.DS_Store", "x")
    try tree.write("sentinel", "x")
    #expect(recorder.wait { $0.saw("sentinel", .created) && $0.saw("sub/.DS_Store", .created) })
    #expect(!recorder.changes.contains { $0.path.hasPrefix("node_modules") || $0.path.hasPrefix(".git") })
    recorder.clear()
    // A commit touches no working-tree file, only HEAD's ref and the index.
    try tree.git("commit", "-q", "--allow-empty", "-m", "second")
    #expect(recorder.wait { $0.all.contains { $0.gitMetadataChanged } })
    #expect(recorder.changes.isEmpty)
    recorder.clear()
    try tree.git("checkout", "-q", "-b", "feature")
    #expect(recorder.wait { $0.all.contains { $0.gitMetadataChanged } })
  }

  /// The queue made tiny by the test hook: past it events are lost, and a
  /// full rescan must still report every file, saying so once.
  @Test func overflowFallsBackToAFullRescan() throws {
    let tree = try TempTree()
    try tree.write("d/gone.txt", "x")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, WatcherOptions(debounce: .milliseconds(50), maxQueuedEvents: 8))
    defer { watcher.stop() }
    // Hundreds of events in a watched directory, far past the 8 the queue holds.
    try run("/bin/sh", ["-c", "rm d/gone.txt; for i in $(seq 1 200); do echo $i > d/f$i; done"], in: tree.path)
    let expected = (1...200).map { "d/f\($0)" }
    #expect(
      recorder.wait { r in r.saw("d/gone.txt", .deleted) && expected.allSatisfy { r.saw($0, .created) } })
    #expect(recorder.all.contains { $0.rescanned })
    try run("/bin/sh", ["-c", "for i in $(seq 1 50); do echo $i > d/g$i; done"], in: tree.path)
    #expect(recorder.wait { r in (1...50).allSatisfy { r.saw("d/g\($0)", .created) } })
    let state = watcher.state
    #expect(state.overflows >= 2)
    #expect(state.notes.count == 1)
    #expect(recorder.logs.count == 1)
    #expect(recorder.logs.first?.contains("overflowed") == true)
  }

  /// Watches capped by the test hook: what has no watch is still seen, by
  /// the periodic rescan, and the fallback is said once.
  @Test func watchLimitFallsBackToPeriodicRescans() throws {
    let tree = try TempTree()
    for name in ["a", "b", "c", "d", "e", "f"] { try tree.write("\(name)/x.txt", "x") }
    let recorder = WatchRecorder()
    let watcher = try recorder.start(
      tree, WatcherOptions(debounce: .milliseconds(20), rescanInterval: .milliseconds(200), maxWatches: 3))
    defer { watcher.stop() }
    let state = watcher.state
    #expect(state.mode == .eventsWithPeriodicRescan)
    #expect(state.watches == 3)
    #expect(state.notes.count == 1 && state.notes[0].contains("max_user_watches"))
    for name in ["a", "b", "c", "d", "e", "f"] { try tree.write("\(name)/new.txt", "x") }
    #expect(recorder.wait { r in ["a", "b", "c", "d", "e", "f"].allSatisfy { r.saw("\($0)/new.txt", .created) } })
    #expect(recorder.logs.count == 1)
  }

  @Test(arguments: backends) func workspaceDeletedIsReportedOnce(options: WatcherOptions) throws {
    let tree = try TempTree()
    try tree.write("a/b.txt", "x")
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, options)
    defer { watcher.stop() }
    try run("/bin/rm", ["-rf", tree.path])
    #expect(recorder.wait { $0.all.contains { $0.workspaceDeleted } })
    usleep(300_000)
    let deleted = recorder.all.filter(\.workspaceDeleted)
    #expect(deleted.count == 1)
    #expect(deleted.first?.changes == [WatchChange(path: "", kind: .deleted)])
    #expect(recorder.all.last?.workspaceDeleted == true)
    #expect(watcher.state.mode == .stopped && watcher.state.workspaceDeleted)
  }

  @Test func stoppedWatcherDeliversNothing() throws {
    let tree = try TempTree()
    let recorder = WatchRecorder()
    let watcher = try recorder.start(tree, WatcherOptions(debounce: .milliseconds(10)))
    try tree.write("first", "x")
    #expect(recorder.wait { $0.saw("first", .created) })
    watcher.stop()
    #expect(watcher.state.mode == .stopped)
    recorder.clear()
    try tree.write("second", "x")
    usleep(300_000)
    #expect(recorder.all.isEmpty)
  }

  /// A sync the watcher cannot answer yet (it is busy delivering) gives
  /// up as soon as its request is cancelled, not after its timeout.
  @Test func syncStopsWaitingWhenCancelled() throws {
    let tree = try TempTree()
    let busy = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let started = WorkspaceWatcher(
      root: tree.root, options: WatcherOptions(debounce: .milliseconds(10)),
      deliver: { _ in
        busy.signal()
        release.wait()
      })
    let watcher = try #require(started)
    defer {
      release.signal()
      watcher.stop()
    }
    try tree.write("a.txt", "x")
    #expect(busy.wait(timeout: .now() + 5) == .success)
    let asked = ContinuousClock.now
    let cancelAt = asked + .milliseconds(100)
    #expect(!watcher.sync(timeout: .seconds(5), isCancelled: { ContinuousClock.now >= cancelAt }))
    #expect(ContinuousClock.now - asked < .seconds(2))
  }
}
