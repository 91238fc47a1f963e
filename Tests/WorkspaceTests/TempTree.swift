import Foundation
import TestSupport
import Testing
import Workspace

/// A real directory tree in a temp dir, removed when the test ends.
final class TempTree {
  /// The real path (symlinks in TMPDIR resolved), as the bridge would hold it.
  let path: String
  /// A sibling of the workspace: "outside", for escape attempts.
  let outside: String
  private let base: String

  init() throws {
    let raw = NSTemporaryDirectory() + "ws-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: raw + "/workspace", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: raw + "/outside", withIntermediateDirectories: true)
    base = URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
    path = base + "/workspace"
    outside = base + "/outside"
  }

  // rm -rf rather than FileManager: trees hold FIFOs, sockets and link loops.
  deinit { _ = try? run("/bin/rm", ["-rf", base]) }

  var root: WorkspaceRoot { WorkspaceRoot(realPath: path) }

  func write(_ relative: String, _ text: String) throws { try write(relative, Array(text.utf8)) }

  func write(_ relative: String, _ bytes: [UInt8]) throws {
    let full = path + "/" + relative
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: full))
  }

  func mkdir(_ relative: String) throws {
    try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
  }

  func symlink(_ relative: String, to target: String) throws {
    try FileManager.default.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: target)
  }

  func fifo(_ relative: String) throws {
    #expect(mkfifo(path + "/" + relative, 0o644) == 0)
  }

  /// Runs git in the workspace (or a subdirectory): tests may use the git CLI.
  @discardableResult
  func git(_ arguments: String..., in subdirectory: String = "") throws -> String {
    try run(
      "/usr/bin/git",
      ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=main"] + arguments,
      in: subdirectory.isEmpty ? path : path + "/" + subdirectory)
  }
}

/// Runs a program and returns its stdout; throws when it exits non-zero.
/// `environment` is added to this process's.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil)
  throws -> String
{
  let result = try Program.run(
    executable, arguments, in: directory,
    environment: environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } })
  guard result.status == 0 else {
    throw RunError(
      message: "\(executable) \(arguments.joined(separator: " ")) exited \(result.status): " + result.errors)
  }
  return result.output
}

struct RunError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
