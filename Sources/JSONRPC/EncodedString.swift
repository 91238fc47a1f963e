/// A JSON string literal, quotes included, already escaped exactly as
/// `JSONWriter` escapes a `String`.
///
/// selectFile answers with files of many megabytes. Through a `String` their
/// bytes would be checked for UTF-8, copied into the string, then scanned
/// and copied again by the writer; here one pass over the file's bytes
/// validates the UTF-8, folds line ends and escapes, eight bytes at a time
/// where nothing needs doing, into the buffer the reply is written from.
public struct EncodedString: Sendable, Equatable {
  /// The literal: `"`, the escaped text, `"`. Valid JSON by construction.
  public let bytes: [UInt8]

  /// The literal for `text`, with CR and CRLF written as LF when
  /// `foldingLineEnds`; nil when `text` is not well-formed UTF-8.
  public init?(validating text: [UInt8], foldingLineEnds: Bool) {
    let encoded = text.withUnsafeBytes { Self.encode($0, foldingLineEnds: foldingLineEnds) }
    guard let encoded else { return nil }
    bytes = encoded
  }

  /// The literal for a string (always valid UTF-8; line ends kept).
  public init(_ string: String) {
    var string = string
    bytes = string.withUTF8 { Self.encode(UnsafeRawBufferPointer($0), foldingLineEnds: false)! }
  }

  /// The text the literal stands for (for comparisons and tests; the wire
  /// never needs it).
  public var string: String {
    guard case .string(let text)? = try? JSONParser.parse(bytes) else {
      preconditionFailure("an EncodedString holds a JSON string literal")
    }
    return text
  }

  static func encode(_ input: UnsafeRawBufferPointer, foldingLineEnds: Bool) -> [UInt8]? {
    // Room for text with an escape in every fourth byte; text that needs
    // more (control bytes everywhere) is encoded again with room for the
    // worst case, six bytes out per byte in. The first size keeps a large
    // file's buffer under glibc's mmap ceiling, so its pages are reused
    // from one request to the next instead of being faulted in afresh.
    let first = input.count + input.count / 4 + stretchRoom + 2
    for capacity in [first, input.count * 6 + stretchRoom + 2] {
      var outcome = Outcome.full
      let literal = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
        outcome = escape(input, into: buffer.baseAddress!, capacity: capacity, foldingLineEnds: foldingLineEnds)
        if case .done(let written) = outcome { count = written } else { count = 0 }
      }
      switch outcome {
      case .done: return literal
      case .invalid: return nil
      case .full: continue
      }
    }
    preconditionFailure("six bytes out per byte in always fit")
  }

  enum Outcome {
    case done(Int)
    /// Not well-formed UTF-8.
    case invalid
    /// The output did not fit in the capacity given.
    case full
  }

  /// Input bytes between checks that the output still has room.
  static var chunkBytes: Int { 4096 }
  /// The room one stretch between checks may need.
  static var stretchRoom: Int { 6 * (chunkBytes + 12) + 16 }

  /// Writes the literal at `out`, which has room for `capacity` bytes,
  /// and returns its length; invalid at the first byte that is not
  /// well-formed UTF-8 (Unicode's table 3-7: no overlong forms, surrogates
  /// or code points past U+10FFFF); full if the room ran short.
  static func escape(
    _ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>, capacity: Int, foldingLineEnds fold: Bool
  ) -> Outcome {
    var o = out
    o.pointee = 0x22
    o += 1
    let n = input.count
    guard n > 0, let start = input.baseAddress else {
      o.pointee = 0x22
      return .done(2)
    }
    let p = start.assumingMemoryBound(to: UInt8.self)
    let end = out + capacity
    var i = 0
    // Checked every `chunkBytes` of input: what one stretch can write at
    // most (six bytes per byte of a chunk and of the word or UTF-8 sequence
    // that crosses its end, a word's overhang, the closing quote) fits.
    var nextCheck = 0
    while i < n {
      if i >= nextCheck {
        guard end - o >= Self.stretchRoom else { return .full }
        nextCheck = i + Self.chunkBytes
      }
      // Runs of bytes copied as they are, a word at a time; a word is
      // stored whole and the output advanced only past its plain bytes
      // (the stretch's room covers the overhang).
      while i < nextCheck && i + 8 <= n {
        let raw = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
        UnsafeMutableRawPointer(o).storeBytes(of: raw, as: UInt64.self)
        let attention = attentionMask(UInt64(littleEndian: raw))
        if attention != 0 {
          let plain = attention.trailingZeroBitCount >> 3
          o += plain
          i += plain
          break
        }
        o += 8
        i += 8
      }
      guard i < n else { break }
      let byte = p[i]
      if byte >= 0x80 {
        let length = sequenceLength(p + i, n - i)
        guard length > 0 else { return .invalid }
        for k in 0..<length { o[k] = p[i + k] }
        o += length
        i += length
        continue
      }
      i += 1
      guard Self.needsEscape(byte) else {
        o.pointee = byte
        o += 1
        continue
      }
      o[0] = 0x5C
      if byte == 0x0D && fold {
        o[1] = UInt8(ascii: "n")
        if i < n && p[i] == 0x0A { i += 1 }
        o += 2
      } else if let letter = Self.escapeLetter(byte) {
        o[1] = letter
        o += 2
      } else {
        o[1] = UInt8(ascii: "u")
        o[2] = UInt8(ascii: "0")
        o[3] = UInt8(ascii: "0")
        o[4] = Self.hexDigit(byte >> 4)
        o[5] = Self.hexDigit(byte & 0xF)
        o += 6
      }
    }
    o.pointee = 0x22
    o += 1
    return .done(o - out)
  }

  /// Whether an ASCII `byte` is written escaped: below 0x20, `"` or `\`.
  @inline(__always)
  static func needsEscape(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x22 || byte == 0x5C }

  /// The letter of JSON's two-character escape for a byte that needs one
  /// (`n` for LF, `"` for `"`), or nil where JSON has none and `\u00XX` is
  /// written. The one escape table: `JSONWriter`'s strings use it too.
  @inline(__always)
  static func escapeLetter(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x22: 0x22
    case 0x5C: 0x5C
    case 0x0A: UInt8(ascii: "n")
    case 0x0D: UInt8(ascii: "r")
    case 0x09: UInt8(ascii: "t")
    case 0x08: UInt8(ascii: "b")
    case 0x0C: UInt8(ascii: "f")
    default: nil
    }
  }

  /// The lowercase hex digit for `nibble` (0 to 15), as `\u00XX` spells it.
  @inline(__always)
  static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }

  /// The high bit of each of the word's eight bytes (the first byte
  /// lowest) that is not copied as it is: below 0x20, `"`, `\`
  /// or not ASCII. The classic has-zero-byte tests: a borrow can flag a
  /// byte after a flagged one, never before, so the lowest flag is exact.
  @inline(__always)
  static func attentionMask(_ word: UInt64) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    let control = (word &- ones &* 0x20) & ~word
    let quote = word ^ (ones &* 0x22)
    let backslash = word ^ (ones &* 0x5C)
    let quotes = (quote &- ones) & ~quote
    let backslashes = (backslash &- ones) & ~backslash
    return (control | quotes | backslashes | word) & highs
  }

  /// The length of the well-formed UTF-8 sequence starting at `p` (whose
  /// first byte is not ASCII), or 0 if there is none.
  @inline(__always)
  static func sequenceLength(_ p: UnsafePointer<UInt8>, _ available: Int) -> Int {
    let lead = p[0]
    @inline(__always) func continuation(_ k: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
      k < available && p[k] >= low && p[k] <= high
    }
    switch lead {
    case 0xC2...0xDF:
      return continuation(1) ? 2 : 0
    case 0xE0:
      return continuation(1, 0xA0) && continuation(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF:
      return continuation(1) && continuation(2) ? 3 : 0
    case 0xED:
      return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
    case 0xF0:
      return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF1...0xF3:
      return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF4:
      return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
    default:
      return 0
    }
  }
}
