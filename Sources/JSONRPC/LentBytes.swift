/// Bytes written into memory a `ReplyBufferLender` lent. The transport that
/// lent it recognises its own type and sends the memory as it is.
public protocol LentBytes: Sendable {
  var count: Int { get }
  func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result
}
