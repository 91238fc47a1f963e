/// Memory for a large part of a reply (selectFile's text), lent by the
/// transport that sends it: HTTP lends its own network buffers, so the part
/// is written once, where it leaves from, instead of into an array that is
/// then copied there. Transports that write arrays (stdio) lend nothing.
public protocol ReplyBufferLender: Sendable {
  /// Memory of `capacity` bytes for `fill`, which returns how many bytes it
  /// wrote, or nil to give the memory back (and get nil).
  func lend(capacity: Int, fill: (UnsafeMutableRawBufferPointer) -> Int?) -> (any LentBytes)?
}
