/// Standard base64 with padding, for `data:` URLs and inline archives.
public enum Base64 {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  public static func encode(_ bytes: [UInt8]) -> String {
    let outputCount = (bytes.count + 2) / 3 * 4
    return String(unsafeUninitializedCapacity: outputCount) { out in
      bytes.withUnsafeBufferPointer { input in
        alphabet.withUnsafeBufferPointer { table in
          var i = 0
          var o = 0
          let full = input.count - input.count % 3
          while i < full {
            let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out[o] = table[Int(value >> 18)]
            out[o + 1] = table[Int(value >> 12 & 0x3F)]
            out[o + 2] = table[Int(value >> 6 & 0x3F)]
            out[o + 3] = table[Int(value & 0x3F)]
            i += 3
            o += 4
          }
          let rest = input.count - full
          if rest > 0 {
            let value = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
            out[o] = table[Int(value >> 18)]
            out[o + 1] = table[Int(value >> 12 & 0x3F)]
            out[o + 2] = rest == 2 ? table[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
            out[o + 3] = UInt8(ascii: "=")
          }
        }
      }
      return outputCount
    }
  }
}
