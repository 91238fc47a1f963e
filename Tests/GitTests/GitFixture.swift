import Foundation
import TestSupport
import Testing
import Workspace

@testable import Git

/// A scratch directory with real repositories made by the git CLI, which is
/// also the oracle the tests compare with. Removed when the fixture goes.
final class GitFixture {
  let root: String

  /// - Parameter inMemory: on tmpfs when the machine has one, for the big
  ///   fixtures whose file creation would otherwise dominate the run.
  init(inMemory: Bool = false) throws {
    var directory = NSTemporaryDirectory()
    if inMemory, FileManager.default.isWritableFile(atPath: "/dev/shm") { directory = "/dev/shm/" }
    let template = directory + "agent-bridge-git-XXXXXX"
    var bytes = Array(template.utf8CString)
    guard let made = mkdtemp(&bytes) else { throw FixtureError("mkdtemp failed") }
    // The bridge works on real paths; /tmp may be a symlink elsewhere.
    root = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

  /// Runs git in `directory` (relative to the root) with a clean, fixed
  /// identity and no user or system configuration.
  @discardableResult
  func git(_ arguments: [String], in directory: String = "", allowFailure: Bool = false) throws -> String {
    let data = try gitData(arguments, in: directory, allowFailure: allowFailure)
    return String(decoding: data, as: UTF8.self)
  }

  @discardableResult
  func git(_ arguments: String..., in directory: String = "") throws -> String {
    try git(arguments, in: directory)
  }

  func gitData(_ arguments: [String], in directory: String = "", allowFailure: Bool = false) throws -> Data {
    let environment = [
      "PATH": "/usr/bin:/bin",
      "HOME": root,
      "GIT_CONFIG_NOSYSTEM": "1",
      "GIT_CONFIG_GLOBAL": "/dev/null",
      "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
      "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
      "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
      "LC_ALL": "C",
    ]
    let result = try Program.run("/usr/bin/git", ["-C", path(directory)] + arguments, environment: environment)
    if result.status != 0 && !allowFailure {
      throw FixtureError("git \(arguments.joined(separator: " ")) failed: \(result.errors)")
    }
    return result.stdout
  }

  /// `git init` with `main` as the first branch.
  func initRepository(_ directory: String = "") throws {
    try FileManager.default.createDirectory(atPath: path(directory), withIntermediateDirectories: true)
    try git("init", "-q", "-b", "main", in: directory)
  }

  func write(_ relative: String, _ content: String) throws {
    try write(relative, Data(content.utf8))
  }

  func write(_ relative: String, _ data: Data) throws {
    let full = path(relative)
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: full))
  }

  func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path(relative)) }

  func symlink(_ relative: String, to target: String) throws {
    try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
  }

  func chmod(_ relative: String, _ mode: Int) throws {
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(relative))
  }

  /// Every file, added and committed.
  func commitAll(_ message: String = "commit", in directory: String = "") throws {
    try git("add", "-A", in: directory)
    try git("commit", "-q", "--allow-empty", "-m", message, in: directory)
  }

  // MARK: The oracle

  /// What the contract's base order picks, worked out with the CLI; nil when
  /// nothing qualifies (the empty tree).
  func oracleBase(in directory: String = "") throws -> String? {
    let branch = try git(["symbolic-ref", "-q", "--short", "HEAD"], in: directory, allowFailure: true)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    func verify(_ revision: String) throws -> String? {
      let out = try git(["rev-parse", "-q", "--verify", revision + "^{commit}"], in: directory, allowFailure: true)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      return out.isEmpty ? nil : out
    }
    if !branch.isEmpty, let upstream = try verify("refs/remotes/origin/" + branch) { return upstream }
    if let remoteDefault = try verify("refs/remotes/origin/HEAD") {
      if try verify("HEAD") != nil {
        let base = try git(["merge-base", "HEAD", remoteDefault], in: directory, allowFailure: true)
          .trimmingCharacters(in: .whitespacesAndNewlines)
        if !base.isEmpty { return base }
      }
      return remoteDefault
    }
    return try verify("HEAD")
  }

  static let emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

  /// `git diff --name-status --no-renames <base>` plus
  /// `git ls-files --others --exclude-standard`, typechanges as M, sorted
  /// as the contract sorts.
  func oracleChanges(base: String?, in directory: String = "", prefix: String = "") throws -> [GitChange] {
    var changes: [GitChange] = []
    let diff = try gitData(
      ["diff", "--name-status", "--no-renames", "-z", base ?? Self.emptyTree, "--"], in: directory)
    var fields = diff.split(separator: 0, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    if fields.last == "" { fields.removeLast() }
    var index = 0
    while index + 1 < fields.count {
      let status: GitChange.Status
      switch fields[index].first {
      case "A": status = .added
      case "D": status = .deleted
      case "U": status = .unmerged
      default: status = .modified
      }
      changes.append(GitChange(status, prefix + fields[index + 1]))
      index += 2
    }
    let others = try gitData(["ls-files", "--others", "--exclude-standard", "-z"], in: directory)
    for field in others.split(separator: 0) {
      changes.append(GitChange(.added, prefix + String(decoding: field, as: UTF8.self)))
    }
    return changes.sorted(by: GitChange.inContractOrder)
  }

  /// The base version of a file as the contract wants it, through the CLI.
  func oracleOriginal(_ path: String, base: String?, in directory: String = "") throws -> String {
    guard let base else { return "" }
    let data = try gitData(["cat-file", "-p", "\(base):\(path)"], in: directory, allowFailure: true)
    return try GitDiff.text(Array(data))
  }

  /// gitChanges on the root, through both the one-thread path and the
  /// split-over-threads one (forced on however small the tree), which must agree.
  /// A conversation opening on `directory` now (its repository pinned).
  func workspace(_ directory: String = "") -> GitWorkspace { GitWorkspace(opening: path(directory)) }

  func changes(ref: String? = nil, in directory: String = "") throws -> [GitChange] {
    try changes(ref: ref, workspace: workspace(directory))
  }

  /// `changes` for a workspace opened earlier.
  func changes(ref: String? = nil, workspace: GitWorkspace) throws -> [GitChange] {
    let sequential = try GitChanges.collect(workspace: workspace, ref: ref)
    let parallel = try GitChanges.collect(
      workspace: workspace, ref: ref, isCancelled: { false }, tuning: Self.forcedParallel)
    #expect(sequential == parallel, "one thread and several disagree in \(workspace.path)")
    return sequential
  }

  static let forcedParallel = RepositoryScan.Tuning(parallelThreshold: 1, entriesPerWorker: 1, maxWorkers: 4)

  /// gitDiff as the bridge asks it: the working tree read through the
  /// workspace's walk, then the diff.
  func diff(_ path: String, ref: String? = nil) throws -> GitFileDiff {
    try Self.diff(workspace: workspace(), path: path, ref: ref)
  }

  /// `diff` in a conversation opening on `workspace` now.
  static func diff(workspace: String, path: String, ref: String? = nil) throws -> GitFileDiff {
    try diff(workspace: GitWorkspace(opening: workspace), path: path, ref: ref)
  }

  /// `diff` in a workspace opened earlier.
  static func diff(workspace: GitWorkspace, path: String, ref: String? = nil) throws -> GitFileDiff {
    try GitDiffSubject(root: WorkspaceRoot(realPath: workspace.path), path: path).diff(in: workspace, ref: ref)
  }
}

struct FixtureError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

extension GitChange {
  static func A(_ path: String) -> GitChange { GitChange(.added, path) }
  static func M(_ path: String) -> GitChange { GitChange(.modified, path) }
  static func D(_ path: String) -> GitChange { GitChange(.deleted, path) }
  static func U(_ path: String) -> GitChange { GitChange(.unmerged, path) }
}
