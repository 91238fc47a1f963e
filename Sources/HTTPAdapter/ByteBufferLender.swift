import JSONRPC
import NIOCore

/// Lends NIO buffers for large reply parts, so that selectFile's text is
/// escaped straight into the buffer the response body is sent from.
struct ByteBufferLender: ReplyBufferLender {
  func lend(capacity: Int, fill: (UnsafeMutableRawBufferPointer) -> Int?) -> (any LentBytes)? {
    var buffer = ByteBufferAllocator().buffer(capacity: capacity)
    var filled = true
    buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { memory in
      guard let written = fill(UnsafeMutableRawBufferPointer(rebasing: memory[..<capacity])) else {
        filled = false
        return 0
      }
      return written
    }
    return filled ? LentByteBuffer(buffer: buffer) : nil
  }
}
