import JSONRPC
import Testing

/// The one-pass encoder against the slow way, byte for byte: fold CR and
/// CRLF, validate with the standard library, escape one byte at a time.
@Suite struct EncodedStringTests {
  /// What selectFile's `code` was before the fast path, as JSON text.
  static func reference(_ bytes: [UInt8], fold: Bool) -> [UInt8]? {
    var folded: [UInt8] = []
    var index = 0
    while index < bytes.count {
      let byte = bytes[index]
      if fold && byte == 0x0D {
        folded.append(0x0A)
        if index + 1 < bytes.count && bytes[index + 1] == 0x0A { index += 1 }
      } else {
        folded.append(byte)
      }
      index += 1
    }
    guard String(validating: folded, as: UTF8.self) != nil else { return nil }
    var out: [UInt8] = [0x22]
    for byte in folded {
      switch byte {
      case 0x22: out += [0x5C, 0x22]
      case 0x5C: out += [0x5C, 0x5C]
      case 0x0A: out += Array(#"\n"#.utf8)
      case 0x0D: out += Array(#"\r"#.utf8)
      case 0x09: out += Array(#"\t"#.utf8)
      case 0x08: out += Array(#"\b"#.utf8)
      case 0x0C: out += Array(#"\f"#.utf8)
      case ..<0x20:
        let hex = Array("0123456789abcdef".utf8)
        out += Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
      default: out.append(byte)
      }
    }
    out.append(0x22)
    return out
  }

  /// Pieces that matter at a word's edge: escapes, CR/LF pairs, whole and
  /// broken UTF-8 sequences (overlong, surrogate, past U+10FFFF, truncated,
  /// stray continuation bytes), and plain runs.
  static let pieces: [[UInt8]] = [
    [0x0D], [0x0A], [0x0D, 0x0A], [0x0A, 0x0D], [0x0D, 0x0D, 0x0A], [0x22], [0x5C], [0x09], [0x00], [0x1F], [0x7F],
    [0x08], [0x0C], [0x1B], Array("plain".utf8), Array("abcdefgh".utf8), [0x20],
    [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBB, 0xBF], [0xED, 0x9F, 0xBF],
    [0xF4, 0x8F, 0xBF, 0xBF], [0xE0, 0xA0, 0x80], [0xF0, 0x90, 0x80, 0x80],
    [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
    [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xBF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98],
  ]

  @Test func matchesTheReferenceOnRandomBytes() {
    var random = SplitMix(seed: 15)
    var invalid = 0
    for round in 0..<40_000 {
      var bytes: [UInt8] = []
      // Plain runs of every length up to two words place the next piece
      // at every offset within a word.
      let pieceCount = Int(random.next() % 8)
      for _ in 0..<pieceCount {
        bytes += Array(repeating: UInt8(ascii: "x"), count: Int(random.next() % 17))
        let broken = round % 4 == 0
        let choices = broken ? Self.pieces.count : 25
        bytes += Self.pieces[Int(random.next() % UInt64(choices))]
      }
      if round % 3 == 0 {
        // Some bytes drawn from all 256.
        for _ in 0..<Int(random.next() % 24) { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
      }
      for fold in [true, false] {
        let expected = Self.reference(bytes, fold: fold)
        let actual = EncodedString(validating: bytes, foldingLineEnds: fold)?.bytes
        if expected == nil { invalid += 1 }
        #expect(actual == expected, "\(bytes) fold \(fold)")
        if actual != expected { return }
      }
    }
    // Both sides of the check were exercised.
    #expect(invalid > 5_000 && invalid < 70_000, "\(invalid) invalid")
  }

  @Test func everyLengthAroundAWordWithACRLFAtItsEdge() {
    for length in 0..<40 {
      for position in 0..<max(length, 1) {
        var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
        if position + 1 < length {
          bytes[position] = 0x0D
          bytes[position + 1] = 0x0A
        }
        #expect(EncodedString(validating: bytes, foldingLineEnds: true)?.bytes == Self.reference(bytes, fold: true))
        // A sequence cut off by the end of the input is invalid.
        #expect(EncodedString(validating: bytes + [0xE2, 0x82], foldingLineEnds: true) == nil)
      }
    }
  }

  /// Text that escapes to more than the first guess of room is encoded
  /// again with room for the worst case, whatever its length.
  @Test func textOfControlBytesThatOutgrowsTheFirstRoom() {
    for length in [1, 7, 8, 9, 4095, 4096, 4097, 70_000] {
      for filler: [UInt8] in [[0x01], [0x22, 0x5C], [0x0D], [0x0D, 0x0A], [0x61, 0x01]] {
        var bytes: [UInt8] = []
        while bytes.count < length { bytes += filler }
        for fold in [true, false] {
          #expect(
            EncodedString(validating: bytes, foldingLineEnds: fold)?.bytes == Self.reference(bytes, fold: fold),
            "\(length) of \(filler)")
        }
      }
    }
  }

  @Test func theWriterCopiesItAndItEqualsItsString() {
    let text = "tab\there \"quoted\" back\\slash é €\u{1}\r\n"
    let encoded = EncodedString(text)
    #expect(encoded.bytes == JSONWriter.encode(.string(text)))
    #expect(JSONWriter.encode(["code": .encodedString(encoded)]) == JSONWriter.encode(["code": .string(text)]))
    #expect(JSONValue.encodedString(encoded) == .string(text))
    #expect(JSONValue.string(text) == .encodedString(encoded))
    #expect(JSONValue.encodedString(encoded) != .string(text + "x"))
    #expect(JSONValue.encodedString(encoded).stringValue == text)
    #expect(encoded.string == text)
  }
}

/// A small seeded generator, so a failure can be replayed.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
