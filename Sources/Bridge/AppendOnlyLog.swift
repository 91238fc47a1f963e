import Support
import BridgeProtocol
import Dispatch
import JSONRPC
import Synchronization

/// A file of JSON lines that only grows, written durably: `append` returns
/// once its lines are written and fsync'ed, so a caller that waits for it
/// before acknowledging loses nothing it acknowledged, whatever crashes.
///
/// - One serialised appender per process: appends queue up and a single drain
///   on a private queue writes them, each line in one `write(2)` on an
///   `O_APPEND` descriptor, then fsyncs once for the whole batch (group
///   commit). Lines never interleave, within this process or with another
///   process appending to the same file, because each is one append-mode write.
/// - A torn last line (a crash in the middle of a write, or a short write on
///   a full disk) is closed off with a newline before the next append, so the
///   next record starts on a fresh line; readers skip lines that do not parse.
///   The check and the writes of a batch happen under `flock(LOCK_EX)`, so
///   another bridge sharing the file that crashes mid-line at any moment
///   cannot glue its torn line to the front of ours (the kernel drops a dead
///   process's lock).
final class AppendOnlyLog: Sendable {
  typealias Completion = CheckedContinuation<Result<Void, AppendError>, Never>

  struct AppendError: Error, Sendable, CustomStringConvertible {
    var operation: String
    var errno: Int32
    /// Said instead of strerror when the system's word would mislead
    /// (a directory refused for its mode, a symlink where the file is).
    var reason: String?
    var description: String { "\(operation): \(reason ?? String(cString: strerror(errno)))" }
    /// What may be shown to a remote caller: no path.
    var summary: String { reason ?? String(cString: strerror(errno)) }
  }

  private struct State {
    var pending: [(line: [UInt8], done: Completion)] = []
    var draining = false
    /// Open descriptor, or -1 until the first append (or after a failure).
    var fd: Int32 = -1
  }

  let directory: String
  let name: String
  var path: String { directory + "/" + name }
  private let queue: DispatchQueue
  private let state = Mutex(State())

  /// `directory` is absolute (see `FeedbackStore`); `name` one component.
  init(directory: String, name: String) {
    self.directory = directory
    self.name = name
    self.queue = DispatchQueue(label: "agent-bridge.append-only-log")
  }

  deinit {
    let fd = state.withLock { $0.fd }
    if fd >= 0 { close(fd) }
  }

  /// Appends one line (a newline is added) and returns once it is on disk.
  func append(_ value: JSONValue) async -> Result<Void, AppendError> {
    var line = JSONWriter.encode(value)
    line.append(0x0A)
    return await withCheckedContinuation { (done: Completion) in
      let schedule = state.withLock { state -> Bool in
        state.pending.append((line: line, done: done))
        if state.draining { return false }
        state.draining = true
        return true
      }
      if schedule { queue.async { self.drain() } }
    }
  }

  /// Every whole line that parses as JSON, in file order, and how many lines
  /// were skipped (torn by a crash, or otherwise unreadable). A missing file
  /// has no lines.
  func readValues() -> Result<(values: [JSONValue], skipped: Int), AppendError> {
    let fd: Int32
    do throws(AppendError) {
      guard let parent = try openDirectory(creating: false) else { return .success(([], 0)) }
      defer { close(parent) }
      fd = openat(parent, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
      if fd < 0 {
        if errno == ENOENT { return .success(([], 0)) }
        throw openError(errno)
      }
    } catch {
      return .failure(error)
    }
    defer { close(fd) }
    let bytes: [UInt8]
    switch FileDescriptor.readAll(fd) {
    case .success(let read): bytes = read
    case .failure(let failure): return .failure(AppendError(operation: "read \(path)", errno: failure.code))
    }
    var values: [JSONValue] = []
    var skipped = 0
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
      // A torn line is a prefix of a record (or zeros after a power loss):
      // never valid JSON, so parsing is the test.
      if let value = try? JSONParser.parse(Array(line)) {
        values.append(value)
      } else {
        skipped += 1
      }
    }
    return .success((values, skipped))
  }

  // MARK: The drain, on `queue` only

  private func drain() {
    while true {
      let batch = state.withLock { state -> [(line: [UInt8], done: Completion)] in
        let batch = state.pending
        state.pending = []
        if batch.isEmpty { state.draining = false }
        return batch
      }
      if batch.isEmpty { return }
      let result = writeBatch(batch.map(\.line))
      for item in batch { item.done.resume(returning: result) }
    }
  }

  /// Writes the lines, each in one write, then fsyncs. On any failure the
  /// descriptor is dropped, so the next batch reopens and repairs the tail.
  private func writeBatch(_ lines: [[UInt8]]) -> Result<Void, AppendError> {
    do throws(AppendError) {
      let fd = try openForAppend()
      try locked(fd) { () throws(AppendError) in
        try closeTornLine(fd)
        for line in lines { try writeWhole(fd, line) }
      }
      // Outside the lock: other writers need not wait for our disk flush.
      guard fsync(fd) == 0 else { throw AppendError(operation: "fsync \(path)", errno: errno) }
      return .success(())
    } catch {
      let fd = state.withLock { state in
        defer { state.fd = -1 }
        return state.fd
      }
      if fd >= 0 { close(fd) }
      return .failure(error)
    }
  }

  private func openForAppend() throws(AppendError) -> Int32 {
    let existing = state.withLock { $0.fd }
    if existing >= 0 { return existing }
    guard let parent = try openDirectory(creating: true) else {
      throw AppendError(operation: "open \(directory)", errno: ENOENT)
    }
    defer { close(parent) }
    // Read-write so the tail can be checked with pread on the same
    // descriptor. O_NOFOLLOW: a symlink planted under the file's name is
    // refused, never appended through.
    let fd = openat(parent, name, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { throw openError(errno) }
    // The file's directory entry must be durable too, or a crash right
    // after creating it could lose the whole file.
    guard fsync(parent) == 0 else {
      let error = errno
      close(fd)
      throw AppendError(operation: "fsync \(directory)", errno: error)
    }
    state.withLock { $0.fd = fd }
    return fd
  }

  private func openError(_ error: Int32) -> AppendError {
    // O_NOFOLLOW on a symlink is ELOOP, whose strerror ("Too many levels of
    // symbolic links") would send the person looking for a loop.
    AppendError(
      operation: "open \(path)", errno: error,
      reason: error == ELOOP ? "\(name) in the state directory is a symlink; refusing to follow it" : nil)
  }

  /// The state directory, opened and vetted: a directory, owned by this
  /// user, writable by nobody else (anyone who could write it could plant a
  /// link or swap the file). The files are then opened relative to this
  /// descriptor, so the check holds for what is opened. Nil when it does
  /// not exist and `creating` is false.
  private func openDirectory(creating: Bool) throws(AppendError) -> Int32? {
    if creating { try Self.makeDirectories(directory) }
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd < 0 {
      if errno == ENOENT && !creating { return nil }
      throw AppendError(operation: "open \(directory)", errno: errno)
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let error = errno
      close(fd)
      throw AppendError(operation: "stat \(directory)", errno: error)
    }
    var refusal: String?
    if info.st_uid != geteuid() {
      refusal = "the state directory is owned by another user; pass --state-dir with a directory of your own"
    } else if info.st_mode & 0o022 != 0 {
      refusal =
        "the state directory is writable by group or others; remove that (chmod go-w) or pass another --state-dir"
    }
    if let refusal {
      close(fd)
      throw AppendError(operation: "open \(directory)", errno: EPERM, reason: refusal)
    }
    return fd
  }

  /// Runs `body` holding the file's exclusive lock.
  private func locked(_ fd: Int32, _ body: () throws(AppendError) -> Void) throws(AppendError) {
    guard retryOnInterrupt({ flock(fd, LOCK_EX) }) == 0 else {
      throw AppendError(operation: "lock \(path)", errno: errno)
    }
    defer { _ = flock(fd, LOCK_UN) }
    try body()
  }

  /// If the file does not end in a newline, a writer died mid-line: end that
  /// line so the next record starts on a fresh one.
  private func closeTornLine(_ fd: Int32) throws(AppendError) {
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw AppendError(operation: "stat \(path)", errno: errno) }
    guard info.st_size > 0 else { return }
    var last: UInt8 = 0
    guard pread(fd, &last, 1, off_t(info.st_size - 1)) == 1 else {
      throw AppendError(operation: "read \(path)", errno: errno)
    }
    if last != 0x0A { try writeWhole(fd, [0x0A]) }
  }

  private func writeWhole(_ fd: Int32, _ bytes: [UInt8]) throws(AppendError) {
    // EINTR before any byte was written: nothing reached the file, retry.
    let written = retryOnInterrupt { bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    if written == bytes.count { return }
    // A short write (disk full) leaves a torn line; the error makes the
    // caller drop the descriptor, and the reopen closes that line off.
    throw AppendError(operation: "write \(path)", errno: written < 0 ? errno : ENOSPC)
  }

  // MARK: Paths

  static func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  /// `mkdir -p` with mode 0700 (feedback holds e-mail addresses), fsyncing
  /// the parent of every directory it creates.
  static func makeDirectories(_ path: String) throws(AppendError) {
    var info = stat()
    if stat(path, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFDIR else { throw AppendError(operation: "mkdir \(path)", errno: ENOTDIR) }
      return
    }
    let parent = parent(of: path)
    if parent != path { try makeDirectories(parent) }
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw AppendError(operation: "mkdir \(path)", errno: errno)
    }
    try fsyncDirectory(parent)
  }

  static func fsyncDirectory(_ path: String) throws(AppendError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw AppendError(operation: "open \(path)", errno: errno) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw AppendError(operation: "fsync \(path)", errno: errno) }
  }
}
