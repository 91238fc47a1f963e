/// Writes JSON compactly, with raw UTF-8 and unescaped `/`, as OpenHands'
/// Starlette responses do. Output never contains a raw newline, so it is safe
/// for newline-delimited framing.
public struct JSONWriter {
  public private(set) var bytes: [UInt8] = []

  public init(reservingCapacity capacity: Int = 256) { bytes.reserveCapacity(capacity) }

  public static func encode(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter()
    writer.write(value)
    return writer.bytes
  }

  public static func string(_ value: JSONValue) -> String {
    String(decoding: encode(value), as: UTF8.self)
  }

  public mutating func write(_ value: JSONValue) {
    switch value {
    case .null: append("null")
    case .bool(let b): append(b ? "true" : "false")
    case .int(let i): writeInt(i)
    case .double(let d): writeDouble(d)
    case .string(let s): writeString(s)
    case .encodedString(let e): bytes.append(contentsOf: e.bytes)
    case .array(let elements):
      bytes.append(UInt8(ascii: "["))
      for (offset, element) in elements.enumerated() {
        if offset > 0 { bytes.append(UInt8(ascii: ",")) }
        write(element)
      }
      bytes.append(UInt8(ascii: "]"))
    case .object(let object):
      bytes.append(UInt8(ascii: "{"))
      for (offset, member) in object.members.enumerated() {
        if offset > 0 { bytes.append(UInt8(ascii: ",")) }
        writeString(member.key)
        bytes.append(UInt8(ascii: ":"))
        write(member.value)
      }
      bytes.append(UInt8(ascii: "}"))
    }
  }

  public mutating func append(_ ascii: String) { bytes.append(contentsOf: ascii.utf8) }

  /// Written digit by digit: every reply carries its id, and `String(i)`
  /// allocated a string for each.
  public mutating func writeInt(_ value: Int64) {
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    bytes.appendDecimal(value.magnitude)
  }

  private mutating func writeDouble(_ d: Double) {
    guard d.isFinite else { return append("null") }  // JSON has no NaN or infinity.
    if d.rounded() == d, abs(d) < 1e15 {
      writeInt(Int64(d))
    } else {
      append(d.description)
    }
  }

  public mutating func writeString(_ string: String) {
    bytes.append(UInt8(ascii: "\""))
    var string = string
    string.withUTF8 { utf8 in
      // Multi-megabyte strings (selectFile's code) pass through here: reserve
      // once and copy runs between escapes, not byte by byte.
      let needed = bytes.count + utf8.count + utf8.count / 8 + 2
      if needed > bytes.capacity { bytes.reserveCapacity(max(needed, bytes.capacity * 2)) }
      var runStart = 0
      var index = 0
      let count = utf8.count
      while index < count {
        let byte = utf8[index]
        if !EncodedString.needsEscape(byte) {
          index += 1
          continue
        }
        if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
        index += 1
        runStart = index
        bytes.append(0x5C)
        if let letter = EncodedString.escapeLetter(byte) {
          bytes.append(letter)
        } else {
          append("u00")
          bytes.append(EncodedString.hexDigit(byte >> 4))
          bytes.append(EncodedString.hexDigit(byte & 0xF))
        }
      }
      if runStart < count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count])) }
    }
    bytes.append(UInt8(ascii: "\""))
  }
}

extension [UInt8] {
  /// `value` in decimal ASCII, most significant digit first, without
  /// making a String.
  mutating func appendDecimal(_ value: UInt64) {
    var divisor: UInt64 = 1
    while divisor <= value / 10 { divisor &*= 10 }
    var rest = value
    repeat {
      append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest / divisor))
      rest %= divisor
      divisor /= 10
    } while divisor > 0
  }
}

extension JSONValue: CustomStringConvertible {
  /// The compact JSON text.
  public var description: String { JSONWriter.string(self) }
}

extension JSONWriter {
  /// Indented JSON with two spaces, for documents people read and diff
  /// (`Protocol/openrpc.json`). Never used on the wire.
  public static func pretty(_ value: JSONValue) -> String {
    var out = ""
    func indent(_ level: Int) { out += String(repeating: "  ", count: level) }
    func write(_ value: JSONValue, _ level: Int) {
      switch value {
      case .array(let elements) where !elements.isEmpty:
        out += "[\n"
        for (offset, element) in elements.enumerated() {
          indent(level + 1)
          write(element, level + 1)
          out += offset == elements.count - 1 ? "\n" : ",\n"
        }
        indent(level)
        out += "]"
      case .object(let object) where object.count > 0:
        out += "{\n"
        for (offset, member) in object.members.enumerated() {
          indent(level + 1)
          out += JSONWriter.string(.string(member.key)) + ": "
          write(member.value, level + 1)
          out += offset == object.count - 1 ? "\n" : ",\n"
        }
        indent(level)
        out += "}"
      default:
        out += JSONWriter.string(value)
      }
    }
    write(value, 0)
    return out + "\n"
  }
}
