import Support
import Dispatch
import Synchronization

/// Writes framed messages to a file descriptor from its own queue.
///
/// Callers append to a pending buffer and return at once; one drain on the
/// writer queue takes everything pending and writes it with as few `write(2)`
/// calls as it can, so that a burst of replies costs one syscall, not one
/// each. Header and body always leave in the same write.
public final class MessageWriter: Sendable {
  fileprivate struct State {
    /// Buffers to write before `pending`, in order: large bodies are
    /// queued as they are instead of being copied into `pending`, so a
    /// 40 MiB reply is held once, not twice.
    var queued: [[UInt8]] = []
    var queuedBytes = 0
    var pending: [UInt8] = []
    var drainScheduled = false
    var closed = false
    /// While set, sends queue without waking the writer; see `cork()`.
    var corked = false
    /// Messages sent since the last uncork.
    var corkedMessages = 0
    /// Bytes taken by the drain and not yet all written.
    var writing = 0
  }

  /// Bodies at least this large are queued as they are, not copied.
  static let queueWholeBytes = 64 * 1024

  private let fd: Int32
  private let queue = DispatchQueue(label: "agent-bridge.writer")
  private let state = Mutex(State())
  private let onError: @Sendable (Int32) -> Void

  /// - Parameter onError: called once with `errno` when the peer goes away
  ///   (EPIPE); later messages are dropped.
  public init(fd: Int32, onError: @escaping @Sendable (Int32) -> Void = { _ in }) {
    self.fd = fd
    self.onError = onError
  }

  /// Frames `message` and queues it.
  public func send(_ message: JSONValue, framing: Framing) {
    var writer = JSONWriter(reservingCapacity: 128)
    writer.write(message)
    send(body: writer.bytes, framing: framing)
  }

  /// Queues the response to request `id`, encoded straight from its outcome
  /// (the same bytes as `send(ReplyRules.response(outcome, id: id))`, without
  /// building the envelope as a `JSONValue` first).
  public func sendResponse(_ outcome: Result<JSONValue, ResponseError>, id: RequestID, framing: Framing) {
    send(body: Reply.encodedResponse(outcome, id: id), framing: framing)
  }

  /// Queues an already encoded body.
  public func send(body: [UInt8], framing: Framing) {
    let schedule = state.withLock { state -> Bool in
      if state.closed { return false }
      if framing == .lsp { state.pending.appendLSPHeader(length: body.count) }
      if body.count >= Self.queueWholeBytes {
        state.queuePending()
        state.queue(body)
      } else {
        state.pending.append(contentsOf: body)
      }
      if framing == .ndjson { state.pending.append(0x0A) }
      state.corkedMessages += 1
      if state.drainScheduled || state.corked { return false }
      state.drainScheduled = true
      return true
    }
    if schedule { queue.async { self.drain() } }
  }

  /// Holds back the writer while the reader answers a burst of messages
  /// from one read, so that the burst costs one wake-up and one `write(2)`
  /// instead of one each. `uncork()` sends what was queued.
  public func cork() {
    state.withLock { $0.corked = true }
  }

  /// Sends what was queued while corked. A lone small reply is written by
  /// the calling thread, through the queue but without waking its thread,
  /// when the descriptor can take it at once: waking the writer thread was
  /// most of a lone request's round trip. Bursts of several go to the
  /// writer thread, which writes while the reader parses the next read
  /// (written by the reader, pipelined requests ran at half the rate).
  public func uncork() {
    let taken = state.withLock { state -> [UInt8]? in
      state.corked = false
      let messages = state.corkedMessages
      state.corkedMessages = 0
      if state.drainScheduled || state.isEmpty || state.closed { return nil }
      state.drainScheduled = true
      guard messages == 1, state.queued.isEmpty, state.pending.count <= Self.directWriteBytes else { return [] }
      var taken: [UInt8] = []
      swap(&taken, &state.pending)
      state.writing = taken.count
      return taken
    }
    guard let taken else { return }
    if taken.isEmpty {
      queue.async { self.drain() }
    } else if Self.takesWithoutBlocking(fd) {
      // `sync` on an idle serial queue runs here, on this thread, and still
      // orders the write with the queue's work, so `flush()` waits for it.
      queue.sync { self.writeThenHandOff(taken) }
    } else {
      queue.async { self.writeThenHandOff(taken, thenDrain: true) }
    }
  }

  /// A reply at most this large may be written by the uncorking thread: a
  /// descriptor that polls writable takes PIPE_BUF bytes without blocking
  /// (a pipe with a free page, a socket with a quarter of its buffer free).
  static let directWriteBytes = 4096

  private static func takesWithoutBlocking(_ fd: Int32) -> Bool {
    var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    return poll(&poller, 1, 0) > 0 && poller.revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0
  }

  /// Writes bytes already taken from `pending`, then drains what came
  /// since: here when on the writer thread, else by scheduling the drain.
  private func writeThenHandOff(_ bytes: [UInt8], thenDrain: Bool = false) {
    if let error = writeAll(bytes) {
      fail(error)
      return
    }
    if thenDrain { return drain() }
    let more = state.withLock { state -> Bool in
      state.writing = 0
      if state.isEmpty {
        state.drainScheduled = false
        return false
      }
      return true
    }
    if more { queue.async { self.drain() } }
  }

  private func fail(_ error: Int32) {
    state.withLock {
      $0.closed = true
      $0.pending = []
      $0.queued = []
      $0.queuedBytes = 0
      $0.writing = 0
      $0.drainScheduled = false
    }
    onError(error)
  }

  /// Bytes queued or being written: replies the client has not read yet.
  public var backlogBytes: Int {
    state.withLock { $0.closed ? 0 : $0.queuedBytes + $0.pending.count + $0.writing }
  }

  /// Blocks the caller while more than `limit` bytes wait for the client to
  /// read them (or until the peer is gone). The reader calls this before
  /// reading more requests, so a client that never reads its replies stops
  /// being read from instead of growing the server's memory without bound.
  /// Polls: it only ever waits on a client that has stopped reading.
  public func waitForBacklog(atMost limit: Int) {
    uncork()
    while backlogBytes > limit { usleep(1_000) }
  }

  /// Blocks until everything queued so far has been written (uncorking
  /// first: `exit` may arrive in the middle of a corked burst).
  public func flush() {
    uncork()
    queue.sync {}
  }

  private func drain() {
    while true {
      let buffers = state.withLock { state -> [[UInt8]] in
        state.writing = 0
        if state.isEmpty {
          state.drainScheduled = false
          return []
        }
        state.queuePending()
        var taken: [[UInt8]] = []
        swap(&taken, &state.queued)
        state.writing = state.queuedBytes
        state.queuedBytes = 0
        return taken
      }
      if buffers.isEmpty { return }
      // In order, each whole before the next; a burst of small replies
      // is still one buffer and one write.
      for bytes in buffers {
        if let error = writeAll(bytes) {
          fail(error)
          return
        }
      }
    }
  }

  private func writeAll(_ bytes: [UInt8]) -> Int32? {
    bytes.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = retryOnInterrupt { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
        if written < 0 {
          switch errno {
          case EAGAIN, EWOULDBLOCK:
            // A non-blocking stdout (shared with a parent that set it): wait
            // until the client drains the pipe instead of dropping replies.
            waitUntilReady(fd, for: POLLOUT)
            continue
          default:
            return errno
          }
        }
        offset += written
      }
      return nil
    }
  }
}

/// Blocks until `fd` is ready for `events`: the answer to EAGAIN on a
/// descriptor someone else made non-blocking (stdin and stdout are shared
/// with the parent process).
func waitUntilReady(_ fd: Int32, for events: Int32) {
  var poller = pollfd(fd: fd, events: Int16(events), revents: 0)
  _ = poll(&poller, 1, -1)
}

extension MessageWriter.State {
  var isEmpty: Bool { queued.isEmpty && pending.isEmpty }

  /// Moves `pending` (when not empty) to the end of the queue.
  mutating func queuePending() {
    guard !pending.isEmpty else { return }
    var taken: [UInt8] = []
    swap(&taken, &pending)
    queue(taken)
  }

  mutating func queue(_ bytes: [UInt8]) {
    queuedBytes += bytes.count
    queued.append(bytes)
  }
}

extension [UInt8] {
  /// `Content-Length: <length>\r\n\r\n`, written digit by digit: it
  /// precedes every LSP message, and an interpolated String cost more than
  /// the rest of a small reply's framing.
  mutating func appendLSPHeader(length: Int) {
    append(contentsOf: Self.contentLengthPrefix)
    appendDecimal(UInt64(length))
    append(contentsOf: Self.headerEnd)
  }

  private static let contentLengthPrefix: [UInt8] = Array("Content-Length: ".utf8)
  private static let headerEnd: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
}
