#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A child process on real pipes, spawned with posix_spawn so the test owns
/// its lifetime (signals, waitpid) without Foundation's reaper in the way.
final class SpawnedProcess: @unchecked Sendable {
  private static let spawnLock = NSLock()
  let pid: pid_t
  private(set) var input: Int32
  let output: Int32
  let errors: Int32
  private var buffered: [UInt8] = []
  private var exitStatus: Int32?

  struct SpawnError: Error, CustomStringConvertible {
    var errno: Int32
    var description: String { "spawn failed: \(String(cString: strerror(errno)))" }
  }

  init(_ arguments: [String], environment: [String: String]? = nil) throws {
    // Pipes are made close-on-exec under a lock held until the spawn, so a
    // process spawned concurrently by another test never inherits these ends
    // (and keeps a pipe open after the test closes it).
    Self.spawnLock.lock()
    defer { Self.spawnLock.unlock() }
    var stdinPipe: [Int32] = [0, 0]
    var stdoutPipe: [Int32] = [0, 0]
    var stderrPipe: [Int32] = [0, 0]
    guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else { throw SpawnError(errno: errno) }
    for fd in stdinPipe + stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
    let argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var environ: [String: String] = [:]
    var index = 0
    while let entry = Glibc.environ[index] {
      let text = String(cString: entry)
      if let equals = text.firstIndex(of: "=") { environ[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
      index += 1
    }
    for (key, value) in environment ?? [:] { environ[key] = value }
    let envp = environ.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    var child: pid_t = 0
    let result = posix_spawnp(&child, arguments[0], &actions, nil, argv, envp)
    close(stdinPipe[0])
    close(stdoutPipe[1])
    close(stderrPipe[1])
    guard result == 0 else {
      close(stdinPipe[1])
      close(stdoutPipe[0])
      close(stderrPipe[0])
      throw SpawnError(errno: result)
    }
    pid = child
    input = stdinPipe[1]
    output = stdoutPipe[0]
    errors = stderrPipe[0]
  }

  deinit {
    if exitStatus == nil {
      kill(pid, SIGKILL)
      _ = wait()
    }
    if input >= 0 { close(input) }
    close(output)
    close(errors)
  }

  func write(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
      if written <= 0 { return }
      offset += written
    }
  }

  func closeInput() {
    if input >= 0 { close(input) }
    input = -1
  }

  /// The next line of stdout (without its newline), or nil at EOF or timeout.
  func readLine(timeoutMilliseconds: Int32 = 10_000) -> String? {
    while true {
      if let newline = buffered.firstIndex(of: 0x0A) {
        let line = String(decoding: buffered[..<newline], as: UTF8.self)
        buffered.removeSubrange(...newline)
        return line
      }
      var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
      guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
      if count <= 0 { return nil }
      buffered.append(contentsOf: chunk[0..<count])
    }
  }

  /// Exactly `count` bytes of stdout (for LSP-framed bodies), or nil.
  func readBytes(_ count: Int, timeoutMilliseconds: Int32 = 10_000) -> [UInt8]? {
    while buffered.count < count {
      var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
      guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let got = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
      if got <= 0 { return nil }
      buffered.append(contentsOf: chunk[0..<got])
    }
    defer { buffered.removeSubrange(..<count) }
    return Array(buffered[..<count])
  }

  /// Everything left on a descriptor, up to EOF.
  static func readToEnd(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count <= 0 { break }
      bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  func signal(_ number: Int32) { kill(pid, number) }

  /// Waits for the child; its exit code, or 128 + signal.
  @discardableResult
  func wait() -> Int32 {
    if let exitStatus { return exitStatus }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    exitStatus = code
    return code
  }
}
