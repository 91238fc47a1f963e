#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSONRPC

/// The built `agent-bridge` binary, run as a child process over real pipes:
/// stdin and stdout are pipes the test holds, stderr goes to a file the test
/// can read afterwards.
public final class BridgeProcess: @unchecked Sendable {
  public let pid: pid_t
  public let client: WireClient
  public let stderrPath: String
  private var status: Int32?
  private let ownedDirectory: String?

  /// `AGENT_BRIDGE_BIN`, else the debug build next to this package.
  public static var binaryPath: String {
    if let path = getenv("AGENT_BRIDGE_BIN") { return String(cString: path) }
    // .../Tests/TestSupport/BridgeProcess.swift -> the package root.
    var root = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    root.removeLast(3)
    return root.joined(separator: "/") + "/.build/debug/agent-bridge"
  }

  /// Starts `agent-bridge ARGS...` in `directory` (default: a fresh temp dir),
  /// with `environment` added to (or replacing entries of) the test's own,
  /// and, given `stackLimitKiB`, under `ulimit -s` of that (the size glibc
  /// gives threads made with default attributes).
  public init(
    _ arguments: [String] = [], directory: String? = nil, environment: [String: String] = [:],
    stackLimitKiB: Int? = nil, timeout: Duration = .seconds(20)
  ) throws {
    let binary = Self.binaryPath
    guard access(binary, X_OK) == 0 else {
      throw WireError("no agent-bridge at \(binary): run `swift build` first or set AGENT_BRIDGE_BIN")
    }
    let cwd = directory ?? Self.makeTemporaryDirectory()
    ownedDirectory = directory == nil ? cwd : nil
    let stdinPipe = RawPipe()
    let stdoutPipe = RawPipe()
    // Not inside `cwd`: that is the default workspace, whose listing a test
    // may check entry by entry.
    stderrPath = "/tmp/agent-bridge-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe.readEnd, 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe.writeEnd, 1)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

    // `env -C` sets the working directory of the child only (glibc's
    // addchdir_np is not visible from Swift); env execs, so the pid is the
    // bridge's own.
    let assignments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    // sh execs too, so the pid stays the bridge's.
    let limited = stackLimitKiB.map { ["/bin/sh", "-c", "ulimit -s \($0) && exec \"$0\" \"$@\""] } ?? []
    let argv = (["/usr/bin/env", "-C", cwd] + assignments + limited + [binary] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, "/usr/bin/env", &actions, nil, argv, environ)
    close(stdinPipe.readEnd)
    close(stdoutPipe.writeEnd)
    guard rc == 0 else {
      close(stdinPipe.writeEnd)
      close(stdoutPipe.readEnd)
      throw WireError("posix_spawn failed: \(rc)")
    }
    pid = child
    client = WireClient(writingTo: stdinPipe.writeEnd, readingFrom: stdoutPipe.readEnd, timeout: timeout)
  }

  deinit {
    if status == nil {
      kill(pid, SIGKILL)
      var raw: Int32 = 0
      waitpid(pid, &raw, 0)
    }
    close(client.output)
    unlink(stderrPath)
    if let ownedDirectory { rmdir(ownedDirectory) }
  }

  /// Waits for the process to end; its exit code, or 128 + signal.
  public func waitForExit(timeout: Duration = .seconds(20)) throws -> Int32 {
    if let status { return status }
    let deadline = ContinuousClock.now + timeout
    while true {
      var raw: Int32 = 0
      let done = waitpid(pid, &raw, WNOHANG)
      if done == pid {
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = code
        return code
      }
      if ContinuousClock.now > deadline {
        throw WireError("agent-bridge (pid \(pid)) did not exit within \(timeout)")
      }
      usleep(2_000)
    }
  }

  /// What the process wrote on stderr so far.
  public var stderr: String {
    guard let file = fopen(stderrPath, "r") else { return "" }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = fread(&chunk, 1, chunk.count, file)
      if n <= 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// A `/proc/<pid>/status` field in KiB (`VmHWM`, `VmRSS`), Linux only.
  public func procStatusKiB(_ field: String) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, Int32(line.count), file) != nil {
      let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      if text.hasPrefix(field + ":") {
        return Int(text.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
      }
    }
    return nil
  }

  public static func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/agent-bridge-test-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
