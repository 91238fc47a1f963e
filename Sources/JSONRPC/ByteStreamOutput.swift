/// Where a method that makes a byte stream (zipDirectory's archive) writes
/// it as it is made, when its transport can carry one (an HTTP response
/// body). `write` returns once the bytes are taken, so a slow reader slows
/// the producer instead of growing memory; it throws when the reader has
/// gone away, which should end the work.
public protocol ByteStreamOutput: Sendable {
  func write(_ bytes: [UInt8]) async throws
}
