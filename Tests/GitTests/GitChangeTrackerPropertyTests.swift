import Foundation
import Testing
import Workspace

@testable import Git

/// A watched workspace's gitChanges, narrowed to what the watcher saw
/// change, against a fresh full one after every step of a random history.
///
/// `AGENT_BRIDGE_TRACKER_PROPERTY_SEEDS` (default 6) sets how many
/// histories run; `AGENT_BRIDGE_TRACKER_PROPERTY_SEED` replays one from its
/// first seed. A failure names its seed and the steps that led there.
@Suite(.serialized) struct GitChangeTrackerPropertyTests {
  static var seeds: Int {
    ProcessInfo.processInfo.environment["AGENT_BRIDGE_TRACKER_PROPERTY_SEEDS"].flatMap(Int.init) ?? 6
  }

  static var firstSeed: UInt64 {
    ProcessInfo.processInfo.environment["AGENT_BRIDGE_TRACKER_PROPERTY_SEED"].flatMap(UInt64.init) ?? 20_261_203
  }

  @Test func narrowedAnswersEqualFullOnes() throws {
    var narrowed = 0
    var steps = 0
    for offset in 0..<Self.seeds {
      var history = TrackedHistory(seed: Self.firstSeed &+ UInt64(offset))
      let result = try history.run(steps: 45)
      narrowed += result.narrowed
      steps += result.steps
    }
    // A tracker that always compared everything would pass every step:
    // most answers must have been narrowed for the comparison to mean anything.
    #expect(narrowed * 3 >= steps, "only \(narrowed) of \(steps) answers were narrowed")
  }
}

/// One workspace repository (with a nested one at depth 1 and sometimes a
/// deeper one), edited at random while a watcher feeds a tracker.
struct TrackedHistory {
  let seed: UInt64
  var random: SeededGenerator
  var log: [String] = []
  var counter = 0

  init(seed: UInt64) {
    self.seed = seed
    random = SeededGenerator(seed: seed)
  }

  static let names = [
    "a.txt", "b c.txt", "é.txt", "run.sh", "dir/x.txt", "dir/sub/y.md", "dir/sub/z.log", "new/n.txt",
    "new/deep/m.txt", "app/apple.txt", "app/src/main.c", "lib/vendor/v.txt", "lib/l.txt", "node_modules/p/i.js",
    "ignored/i.txt", "keep.log", "apple.txt", "web/build/b.js", "web/build/out/o.js", "web/build/out/deep/d.js",
    "app/src/cache/c.o",
  ]
  /// In directories the watcher leaves out while the rules ignore them.
  static let ignoredNames = ["web/build/b.js", "web/build/out/o.js", "web/build/out/deep/d.js", "app/src/cache/c.o"]
  static let directories = ["dir", "dir/sub", "new", "new/deep", "app/src", "lib", "lib/vendor", "node_modules"]
  static let patterns = ["*.log", "!keep.log", "dir/sub/", "new/", "*.md", "a.txt", "vendor/", "node_modules/"]

  mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
  mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }

  mutating func content() -> String {
    counter += 1
    return (0..<Int.random(in: 0...3, using: &random)).map { "line \($0) v\(counter)\n" }.joined()
  }

  /// Runs `steps` steps; how many answers were narrowed.
  mutating func run(steps: Int) throws -> (steps: Int, narrowed: Int) {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write(".gitignore", "ignored/\nbuild/\n")
    for _ in 0..<6 { try fixture.write(pick(Self.names), content()) }
    try fixture.commitAll()
    // Ignored before watching begins: left out from the first read.
    try fixture.write("web/build/out/o.js", content())
    let workspace = GitWorkspace(opening: fixture.root)
    let tracker = GitChangeTracker(watched: workspace)
    let started = WorkspaceWatcher(
      root: WorkspaceRoot(realPath: fixture.root), git: workspace,
      options: WatcherOptions(debounce: .milliseconds(20)),
      deliver: { tracker.note($0) })
    let watcher = try #require(started)
    defer { watcher.stop() }
    _ = try tracker.collect()

    var narrowed = 0
    for step in 0..<steps {
      for _ in 0..<(chance(25) ? Int.random(in: 2...4, using: &random) : 1) { try mutate(fixture) }
      #expect(watcher.sync(), "seed \(seed): the watcher did not answer")
      // As the bridge does: only kernel events everywhere vouch for the paths told.
      if watcher.state.mode != .events { tracker.invalidateAll() }
      let tracked = try tracker.collect()
      let fresh = try GitChanges.collect(workspace: workspace, ref: nil)
      if tracker.narrowedScans > 0 { narrowed += 1 }
      if tracked != fresh {
        let story = "seed \(seed), step \(step): \(log.joined(separator: "; "))"
        let missing = fresh.filter { !tracked.contains($0) }
        let extra = tracked.filter { !fresh.contains($0) }
        Issue.record("narrowed answer differs: missing \(missing), extra \(extra); \(story)")
        return (step + 1, narrowed)
      }
    }
    return (steps, narrowed)
  }

  /// One random edit of the working tree, the index, the history or the
  /// repositories themselves.
  mutating func mutate(_ fixture: GitFixture) throws {
    let manager = FileManager.default
    let present = Self.names.filter { manager.fileExists(atPath: fixture.path($0)) }
    let name = !present.isEmpty && chance(70) ? pick(present) : pick(Self.names)
    // Not following a symlink: a dangling one is there too.
    let exists = (try? manager.attributesOfItem(atPath: fixture.path(name))) != nil
    func git(_ arguments: String..., in directory: String = "") {
      _ = try? fixture.git(arguments, in: directory, allowFailure: true)
    }
    switch Int.random(in: 0..<21, using: &random) {
    case 0, 1, 2:
      try? fixture.remove(name)
      try fixture.write(name, content())
      log.append("write \(name)")
    case 3:
      if exists {
        try fixture.remove(name)
        log.append("delete \(name)")
      }
    case 4:
      let target = pick(Self.names)
      if exists && target != name && (try? manager.attributesOfItem(atPath: fixture.path(target))) == nil {
        try manager.createDirectory(
          atPath: (fixture.path(target) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try manager.moveItem(atPath: fixture.path(name), toPath: fixture.path(target))
        log.append("rename \(name) \(target)")
      }
    case 5:
      if exists, (try? manager.destinationOfSymbolicLink(atPath: fixture.path(name))) == nil {
        let mode = chance(50) ? 0o755 : 0o644
        try fixture.chmod(name, mode)
        log.append("chmod \(String(mode, radix: 8)) \(name)")
      }
    case 6:
      let file = pick([".gitignore", "dir/.gitignore", "lib/.gitignore"])
      let pattern = pick(Self.patterns)
      let before = (try? String(contentsOfFile: fixture.path(file), encoding: .utf8)) ?? ""
      try fixture.write(file, before + pattern + "\n")
      log.append("ignore \(pattern) in \(file)")
    case 7:
      if chance(50) {
        git("add", "--", name)
        log.append("git add \(name)")
      } else {
        git("add", "-A")
        log.append("git add -A")
      }
    case 8:
      git("commit", "-q", "-m", "step")
      log.append("git commit")
    case 9:
      switch Int.random(in: 0..<4, using: &random) {
      case 0:
        counter += 1
        git("checkout", "-q", "-b", "b\(counter)")
        log.append("git checkout -b b\(counter)")
      case 1:
        git("checkout", "-q", "main")
        log.append("git checkout main")
      case 2:
        git("checkout", "-q", "--", name)
        log.append("git checkout -- \(name)")
      default:
        git("checkout", "-q", "HEAD~1")
        log.append("git checkout HEAD~1")
      }
    case 10, 11:
      // The depth-1 nested repository: made, edited, committed, unmade.
      let hasRepository = manager.fileExists(atPath: fixture.path("app/.git"))
      switch hasRepository ? Int.random(in: 0..<5, using: &random) : 0 {
      case 0:
        if !hasRepository {
          try fixture.initRepository("app")
          try fixture.write("app/apple.txt", content())
          git("add", "-A", in: "app")
          git("commit", "-q", "-m", "app", in: "app")
          log.append("nested app made")
        }
      case 1:
        try fixture.write("app/src/main.c", content())
        log.append("write app/src/main.c")
      case 2:
        git("add", "-A", in: "app")
        log.append("git add -A in app")
      case 3:
        git("commit", "-q", "-am", "app step", in: "app")
        log.append("git commit in app")
      default:
        try manager.removeItem(atPath: fixture.path("app/.git"))
        log.append("nested app unmade")
      }
    case 12:
      // A repository deeper down: the workspace repository shows it as one
      // untracked directory, whatever it holds.
      if manager.fileExists(atPath: fixture.path("lib/vendor/.git")) {
        try manager.removeItem(atPath: fixture.path("lib/vendor/.git"))
        log.append("lib/vendor unmade")
      } else {
        try fixture.initRepository("lib/vendor")
        log.append("lib/vendor made")
      }
    case 13:
      let directory = pick(Self.directories)
      if manager.fileExists(atPath: fixture.path(directory)) {
        try manager.removeItem(atPath: fixture.path(directory))
        log.append("rm -r \(directory)")
      }
    case 14:
      let directory = pick(Self.directories)
      let target = pick(["moved", "dir/moved", "new"])
      if manager.fileExists(atPath: fixture.path(directory)),
        (try? manager.attributesOfItem(atPath: fixture.path(target))) == nil,
        !target.hasPrefix(directory + "/")
      {
        try manager.createDirectory(
          atPath: (fixture.path(target) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try manager.moveItem(atPath: fixture.path(directory), toPath: fixture.path(target))
        log.append("mv \(directory) \(target)")
      }
    case 15:
      if !exists {
        try manager.createDirectory(
          atPath: (fixture.path(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try fixture.symlink(name, to: pick(["a.txt", "dir", "missing"]))
        log.append("symlink \(name)")
      }
    case 16:
      git("rm", "-q", "--cached", "--", name)
      log.append("git rm --cached \(name)")
    case 17, 18:
      // An ignored directory: filled, force-added to, un-ignored, ignored again.
      let file = pick([".gitignore", "web/.gitignore", "app/.gitignore"])
      let before = (try? String(contentsOfFile: fixture.path(file), encoding: .utf8)) ?? ""
      let pattern = pick(["build/", "out/", "cache/", "deep/"])
      switch Int.random(in: 0..<5, using: &random) {
      case 0:
        let target = pick(Self.ignoredNames)
        try fixture.write(target, content())
        log.append("write \(target)")
      case 1:
        let target = pick(Self.ignoredNames)
        git("add", "-f", "--", target)
        log.append("git add -f \(target)")
      case 2:
        // Un-ignore: drop the pattern's lines.
        let kept = before.split(separator: "\n").filter { $0 != pattern.dropLast(0) }
        try fixture.write(file, kept.map { $0 + "\n" }.joined())
        log.append("unignore \(pattern) in \(file)")
      case 3:
        try fixture.write(file, before + pattern + "\n")
        log.append("ignore \(pattern) in \(file)")
      default:
        // Rules no watch sees.
        let exclude = fixture.path(".git/info/exclude")
        let current = (try? String(contentsOfFile: exclude, encoding: .utf8)) ?? ""
        let next = current.contains(pattern) ? "" : pattern + "\n"
        try fixture.write(".git/info/exclude", next)
        log.append("info/exclude \(next.isEmpty ? "emptied" : pattern)")
      }
    case 19:
      if manager.fileExists(atPath: fixture.path(".git")) {
        git("rm", "-q", "-r", "--cached", "--", "web/build")
        log.append("git rm --cached -r web/build")
      }
    default:
      git("stash", "-q", "-u")
      log.append("git stash -u")
    }
  }
}
