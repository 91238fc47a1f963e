#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Writes framed messages to a file descriptor from its own queue.
///
/// Callers append to a pending buffer and return at once; one drain on the
/// writer queue takes everything pending and writes it with as few `write(2)`
/// calls as it can, so that a burst of replies costs one syscall, not one
/// each. Header and body always leave in the same write.
public final class MessageWriter: Sendable {
  private struct State {
    var pending: [UInt8] = []
    var drainScheduled = false
    var closed = false
    /// While set, sends queue without waking the writer; see `cork()`.
    var corked = false
  }

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

  /// Queues an already encoded body.
  public func send(body: [UInt8], framing: Framing) {
    let schedule = state.withLock { state -> Bool in
      if state.closed { return false }
      switch framing {
      case .lsp:
        state.pending.append(contentsOf: "Content-Length: \(body.count)\r\n\r\n".utf8)
        state.pending.append(contentsOf: body)
      case .ndjson:
        state.pending.append(contentsOf: body)
        state.pending.append(0x0A)
      }
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

  public func uncork() {
    let schedule = state.withLock { state -> Bool in
      state.corked = false
      if state.drainScheduled || state.pending.isEmpty || state.closed { return false }
      state.drainScheduled = true
      return true
    }
    if schedule { queue.async { self.drain() } }
  }

  /// Blocks until everything queued so far has been written (uncorking
  /// first: `exit` may arrive in the middle of a corked burst).
  public func flush() {
    uncork()
    queue.sync {}
  }

  private func drain() {
    while true {
      let bytes = state.withLock { state -> [UInt8] in
        if state.pending.isEmpty {
          state.drainScheduled = false
          return []
        }
        var taken: [UInt8] = []
        swap(&taken, &state.pending)
        return taken
      }
      if bytes.isEmpty { return }
      if let error = writeAll(bytes) {
        state.withLock { $0.closed = true; $0.pending = []; $0.drainScheduled = false }
        onError(error)
        return
      }
    }
  }

  private func writeAll(_ bytes: [UInt8]) -> Int32? {
    bytes.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 {
          switch errno {
          case EINTR:
            continue
          case EAGAIN, EWOULDBLOCK:
            // A non-blocking stdout (shared with a parent that set it): wait
            // until the client drains the pipe instead of dropping replies.
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&poller, 1, -1)
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
