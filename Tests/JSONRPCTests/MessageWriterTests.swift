#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import JSONRPC
import Synchronization
import Testing

@Suite struct MessageWriterTests {
  /// A pipe whose write end holds `filled` bytes nobody has read.
  static func pipe(filledToCapacity fill: Bool) -> (read: Int32, write: Int32, filled: Int) {
    var fds: [Int32] = [0, 0]
    precondition(Glibc.pipe(&fds) == 0)
    var filled = 0
    if fill {
      _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
      let block = [UInt8](repeating: 0x2E, count: 4096)
      while true {
        let n = block.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        if n <= 0 { break }
        filled += n
      }
      _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) & ~O_NONBLOCK)
    }
    return (fds[0], fds[1], filled)
  }

  static func readAll(_ fd: Int32, count: Int) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while out.count < count {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n <= 0 { break }
      out += chunk[0..<n]
    }
    return out
  }

  /// Uncorking writes a small burst on the caller's thread only when the
  /// descriptor takes it at once: with the client's pipe full the reader
  /// must not block (it still has `$/cancelRequest`s to read), and the
  /// reply still arrives once the client reads.
  @Test func uncorkingNeverBlocksOnAFullPipe() {
    let (readEnd, writeEnd, filled) = Self.pipe(filledToCapacity: true)
    defer { close(readEnd) }
    let writer = MessageWriter(fd: writeEnd)
    writer.cork()
    writer.send(["ok": true], framing: .lsp)
    let returned = DispatchSemaphore(value: 0)
    PlainThread.detach {
      writer.uncork()
      returned.signal()
    }
    #expect(returned.wait(timeout: .now() + 5) == .success, "uncork blocked on a full pipe")
    let expected = Array("Content-Length: 11\r\n\r\n{\"ok\":true}".utf8)
    let got = Self.readAll(readEnd, count: filled + expected.count)
    writer.flush()
    close(writeEnd)
    #expect(got.count == filled + expected.count)
    #expect(Array(got.suffix(expected.count)) == expected)
  }

  /// Small bursts written directly and large ones through the queue leave
  /// in the order they were sent, and `flush` waits for all of them.
  @Test func directAndQueuedWritesKeepTheirOrder() {
    let (readEnd, writeEnd, _) = Self.pipe(filledToCapacity: false)
    defer { close(readEnd) }
    let writer = MessageWriter(fd: writeEnd)
    var expected: [UInt8] = []
    let reader = DispatchQueue(label: "reader")
    let got = Mutex<[UInt8]>([])
    let done = DispatchSemaphore(value: 0)
    var bursts: [[JSONValue]] = []
    for round in 0..<200 {
      let count = round % 7 == 0 ? 300 : 1 + round % 3
      bursts.append((0..<count).map { .int(Int64(round * 1000 + $0)) })
    }
    for burst in bursts {
      for value in burst { expected += JSONWriter.encode(value) + [0x0A] }
    }
    let total = expected.count
    reader.async {
      let bytes = Self.readAll(readEnd, count: total)
      got.withLock { $0 = bytes }
      done.signal()
    }
    for burst in bursts {
      writer.cork()
      for value in burst { writer.send(value, framing: .ndjson) }
      writer.uncork()
    }
    writer.flush()
    close(writeEnd)
    done.wait()
    #expect(got.withLock { $0 } == expected)
  }
}

/// A plain thread, so that a blocked call cannot hold a cooperative one.
enum PlainThread {
  static func detach(_ body: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(Box(body))
    var thread = pthread_t()
    _ = pthread_create(&thread, nil, { raw in
      let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
      box.body()
      return nil
    }, box.toOpaque())
    pthread_detach(thread)
  }

  final class Box {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }
}
