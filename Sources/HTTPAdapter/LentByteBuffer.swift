import JSONRPC
import NIOCore

/// A reply part written into a buffer `ByteBufferLender` lent: the response
/// body sends `buffer` itself.
struct LentByteBuffer: LentBytes {
  let buffer: ByteBuffer

  var count: Int { buffer.readableBytes }

  func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try buffer.withUnsafeReadableBytes(body)
  }
}
