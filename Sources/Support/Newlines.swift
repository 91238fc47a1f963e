/// The contract's text answers (selectFile's code, gitDiff's two sides) give
/// CRLF and a lone CR as LF; this is the one place that folds them.
public enum Newlines {
  /// `bytes` with every CRLF and lone CR turned into LF; `bytes` itself when
  /// they hold no CR.
  public static func foldedToLF(_ bytes: [UInt8]) -> [UInt8] {
    let hasCR = bytes.withUnsafeBytes { buffer in
      buffer.baseAddress.map { memchr($0, 0x0D, buffer.count) != nil } ?? false
    }
    guard hasCR else { return bytes }
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    bytes.withUnsafeBufferPointer { input in
      var index = 0
      let count = input.count
      while index < count {
        let byte = input[index]
        if byte == 0x0D {
          out.append(0x0A)
          if index + 1 < count && input[index + 1] == 0x0A { index += 1 }
        } else {
          out.append(byte)
        }
        index += 1
      }
    }
    return out
  }
}
