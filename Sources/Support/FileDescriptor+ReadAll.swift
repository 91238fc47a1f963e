extension FileDescriptor {
  /// Reads from the current offset to the end of the file, refusing to go
  /// past `limit` even if the file grows while being read. `expected` (the
  /// size `fstat` gave) sizes the first buffer, so a file that did not change
  /// takes one read plus the one that sees its end.
  public func readAll(expected: Int = 0, limit: Int = .max) -> Result<[UInt8], ReadAllFailure> {
    Self.readAll(raw, expected: expected, limit: limit)
  }

  /// `readAll` for a descriptor the caller owns and closes.
  public static func readAll(_ raw: Int32, expected: Int = 0, limit: Int = .max) -> Result<[UInt8], ReadAllFailure> {
    var bytes = [UInt8](repeating: 0, count: min(max(expected, 0), limit) + 1)
    var filled = 0
    while true {
      if filled == bytes.count {
        if bytes.count > limit { return .failure(.tooLarge(size: bytes.count)) }
        // `limit - count + 1`, not `limit + 1 - count`: the limit may be Int.max.
        bytes.append(contentsOf: repeatElement(0, count: min(max(bytes.count, 4096), limit - bytes.count + 1)))
      }
      let count = retryOnInterrupt {
        bytes.withUnsafeMutableBytes { buffer in read(raw, buffer.baseAddress! + filled, buffer.count - filled) }
      }
      if count < 0 { return .failure(.failed(errno: errno)) }
      if count == 0 { break }
      filled += count
    }
    if filled > limit { return .failure(.tooLarge(size: filled)) }
    bytes.removeSubrange(filled...)
    return .success(bytes)
  }
}
