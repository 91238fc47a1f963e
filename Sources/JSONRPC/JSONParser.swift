import Support

/// Why a byte sequence is not an acceptable JSON text.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case syntax
    case invalidUTF8
    case tooDeep
    /// A top-level array (a batch) with more elements than
    /// `Limits.maxTopLevelElements`; parsing stopped at the first one over.
    case tooManyElements
    /// The parsed value would take more memory than `Limits.maxTreeBytes`.
    case tooLarge
  }
  public var kind: Kind
  public var offset: Int
  public var reason: String

  public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes.
///
/// It checks what the contract asks of every message while it reads: the text
/// is UTF-8 (including inside strings, where Foundation would substitute), and
/// arrays and objects nest at most `maxDepth` levels.
public struct JSONParser {
  public static let defaultMaxDepth = 512

  /// What one text may cost, checked while it is read so that a refusal
  /// costs no more than the bytes already looked at.
  public struct Limits: Sendable {
    public var maxDepth: Int
    /// Elements a top-level array may hold: a batch is counted against
    /// `--max-batch` before its elements exist.
    public var maxTopLevelElements: Int
    /// Memory the parsed value may take, estimated from the layout of
    /// `JSONValue` (see `Cost`). A text of small values (`[0,0,...]`,
    /// `[[0],[0],...]`) takes 10 to 40 times its size as a tree, so the
    /// size limit alone bounds nothing.
    public var maxTreeBytes: Int

    public init(maxDepth: Int = defaultMaxDepth, maxTopLevelElements: Int = .max, maxTreeBytes: Int = .max) {
      self.maxDepth = maxDepth
      self.maxTopLevelElements = maxTopLevelElements
      self.maxTreeBytes = maxTreeBytes
    }

    /// The limits for one message of `byteCount` bytes: its tree may take
    /// twice its size, plus 1 MiB so small messages never notice. Strings,
    /// what real messages carry in bulk, cost their length; only texts made
    /// of many tiny values reach the limit.
    public static func message(byteCount: Int, maxBatchLength: Int) -> Limits {
      Limits(maxTopLevelElements: maxBatchLength, maxTreeBytes: 2 * byteCount + (1 << 20))
    }
  }

  /// Upper estimates of what each part of a tree takes on the heap. An
  /// element is counted twice: an array grows by doubling, so its buffer
  /// may be twice its count, and the old buffer lives while it is copied.
  enum Cost {
    static let element = 2 * MemoryLayout<JSONValue>.stride
    static let member = 2 * MemoryLayout<(key: String, value: JSONValue)>.stride
    /// A non-empty array's or object's heap buffer: header and malloc's own.
    static let container = 64
    /// Longer strings than this live on the heap (shorter ones are inline).
    static let inlineString = 15
    static let stringHeader = 32
  }

  public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError)
    -> JSONValue
  {
    try parse(bytes, limits: Limits(maxDepth: maxDepth))
  }

  public static func parse(_ bytes: UnsafeRawBufferPointer, limits: Limits) throws(JSONParseError) -> JSONValue {
    var parser = JSONParser(bytes: bytes, limits: limits)
    return try parser.parseText()
  }

  /// Where each key of a text starts, by dotted path
  /// (`conversations[1].web-hosts`), for messages about a document people
  /// edit (a config file) that point at a line.
  public struct KeyLocations: Sendable, Equatable {
    /// The byte offset of each member's key (its opening quote; the first
    /// of duplicate keys) and of each array element (`list[0]`).
    public var offsets: [String: Int] = [:]
    /// The last key whose name was read: after a parse error, the key
    /// nearest before it.
    public var lastKey: String?
    /// The path of the value being read.
    var path = ""

    public init() {}

    /// Enters the value of member `key`, whose name starts at `offset`;
    /// returns the path to go back to.
    mutating func enter(key: String, at offset: Int) -> String {
      let outer = path
      path = outer.isEmpty ? key : "\(outer).\(key)"
      if offsets[path] == nil { offsets[path] = offset }
      lastKey = path
      return outer
    }

    /// Enters element `element` of an array, which starts at `offset`.
    mutating func enter(element: Int, at offset: Int) -> String {
      let outer = path
      path = "\(outer)[\(element)]"
      offsets[path] = offset
      return outer
    }
  }

  /// Parses `bytes` (within the default limits) and records where each key
  /// is in `keys`, also when the text turns out not to be JSON: then
  /// `keys.lastKey` is the key read last before the error.
  public static func parse(_ bytes: [UInt8], locatingKeys keys: inout KeyLocations) throws(JSONParseError)
    -> JSONValue
  {
    let result = bytes.withUnsafeBytes { buffer in
      var parser = JSONParser(bytes: buffer, limits: Limits())
      parser.keys = KeyLocations()
      let result = Result { () throws(JSONParseError) -> JSONValue in try parser.parseText() }
      keys = parser.keys!
      return result
    }
    return try result.get()
  }

  public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(JSONParseError) -> JSONValue in try parse(buffer, maxDepth: maxDepth) }
    }
    return try result.get()
  }

  public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8), maxDepth: maxDepth)
  }

  /// Reads a text that is one object straight into the members a message
  /// is classified by, without building the object: every request is such
  /// a text, and its tree was the reader's largest allocation. Succeeds
  /// exactly when `parse(bytes, limits:)` would, charging the same costs, and
  /// then `Message(fields)` is `Message(parse(bytes, limits:))`; a failure
  /// carries no promise about its error (the caller parses again for that).
  static func messageFields(_ bytes: UnsafeRawBufferPointer, limits: Limits) throws(JSONParseError) -> MessageFields {
    var parser = JSONParser(bytes: bytes, limits: limits)
    parser.skipWhitespace()
    guard !parser.atEnd, parser.peek() == UInt8(ascii: "{") else {
      throw parser.error(.syntax, "not an object")
    }
    let fields = try parser.parseMessageFields()
    parser.skipWhitespace()
    if parser.index != bytes.count { throw parser.error(.syntax, "unexpected data after the JSON value") }
    return fields
  }

  /// `parseObject(depth: 1)`, keeping only the members `Message` reads.
  private mutating func parseMessageFields() throws(JSONParseError) -> MessageFields {
    var fields = MessageFields()
    try parseMembers(depth: 1) { key, value in
      switch key {
      case "id": fields.id = value
      case "jsonrpc": fields.jsonrpc = value
      case "method": fields.method = value
      case "params": fields.params = value
      case "result", "error": fields.hasResultOrError = true
      default: break
      }
    }
    return fields
  }

  private let bytes: UnsafeRawBufferPointer
  private let maxDepth: Int
  private let maxTopLevelElements: Int
  /// Estimated bytes the tree may still take.
  private var treeBytesLeft: Int
  private var index = 0
  /// Recorded only when asked for (a config file); nil on the wire.
  private var keys: KeyLocations?

  private init(bytes: UnsafeRawBufferPointer, limits: Limits) {
    self.bytes = bytes
    self.maxDepth = limits.maxDepth
    self.maxTopLevelElements = limits.maxTopLevelElements
    self.treeBytesLeft = limits.maxTreeBytes
  }

  private mutating func parseText() throws(JSONParseError) -> JSONValue {
    skipWhitespace()
    let value = try parseValue(depth: 0)
    skipWhitespace()
    if index != bytes.count { throw error(.syntax, "unexpected data after the JSON value") }
    return value
  }

  @inline(__always) private mutating func charge(_ cost: Int) throws(JSONParseError) {
    treeBytesLeft &-= cost
    if treeBytesLeft < 0 { throw error(.tooLarge, "the parsed value would take too much memory") }
  }

  private func error(_ kind: JSONParseError.Kind, _ reason: String) -> JSONParseError {
    JSONParseError(kind: kind, offset: index, reason: reason)
  }

  @inline(__always) private var atEnd: Bool { index >= bytes.count }

  @inline(__always) private func peek() -> UInt8 { bytes[index] }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x09, 0x0A, 0x0D: index += 1
      default: return
      }
    }
  }

  private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
    guard !atEnd else { throw error(.syntax, "unexpected end of input") }
    switch peek() {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try expectLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    case 0x80...0xFF: throw error(.syntax, "unexpected non-ASCII byte")
    default: throw error(.syntax, "unexpected character")
    }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
    let count = literal.utf8CodeUnitCount
    guard bytes.count - index >= count else { throw error(.syntax, "unexpected end of input") }
    let base = literal.utf8Start
    for offset in 0..<count where bytes[index + offset] != base[offset] {
      throw error(.syntax, "invalid literal")
    }
    index += count
  }

  private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
    var members: [(key: String, value: JSONValue)] = []
    try parseMembers(depth: depth) { key, value in
      // Room for four at once: a request object has three to five
      // members, and growing one by one reallocated twice per message.
      // Four members are what `Cost.member` counts for two.
      if members.isEmpty { members.reserveCapacity(4) }
      members.append((key: key, value: value))
    }
    return .object(JSONObject(members))
  }

  /// Reads an object (at its `{`), handing each member to `member` in text
  /// order: every rule and every charge of an object is here, however its
  /// members are kept (a tree's `JSONObject`, or a message's fields).
  @inline(__always)
  private mutating func parseMembers(depth: Int, _ member: (String, JSONValue) -> Void) throws(JSONParseError) {
    guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
    index += 1  // {
    skipWhitespace()
    if !atEnd && peek() == UInt8(ascii: "}") {
      index += 1
      return
    }
    var first = true
    while true {
      skipWhitespace()
      guard !atEnd, peek() == UInt8(ascii: "\"") else { throw error(.syntax, "expected a member name") }
      if first {
        try charge(Cost.container + Cost.member)
        first = false
      }
      try charge(Cost.member)
      let keyStart = index
      let key = try parseString()
      let outer = keys?.enter(key: key, at: keyStart)
      skipWhitespace()
      guard !atEnd, peek() == UInt8(ascii: ":") else { throw error(.syntax, "expected ':'") }
      index += 1
      skipWhitespace()
      let value = try parseValue(depth: depth)
      if let outer { keys!.path = outer }
      member(key, value)
      skipWhitespace()
      guard !atEnd else { throw error(.syntax, "unterminated object") }
      let next = peek()
      index += 1
      if next == UInt8(ascii: ",") { continue }
      if next == UInt8(ascii: "}") { return }
      index -= 1
      throw error(.syntax, "expected ',' or '}'")
    }
  }

  private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
    guard depth <= maxDepth else { throw error(.tooDeep, "nesting deeper than \(maxDepth) levels") }
    index += 1  // [
    var elements: [JSONValue] = []
    skipWhitespace()
    if !atEnd && peek() == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    try charge(Cost.container)
    while true {
      if depth == 1 && elements.count == maxTopLevelElements {
        throw error(.tooManyElements, "more than \(maxTopLevelElements) elements in the top-level array")
      }
      try charge(Cost.element)
      skipWhitespace()
      let outer = keys?.enter(element: elements.count, at: index)
      elements.append(try parseValue(depth: depth))
      if let outer { keys!.path = outer }
      skipWhitespace()
      guard !atEnd else { throw error(.syntax, "unterminated array") }
      let next = peek()
      index += 1
      if next == UInt8(ascii: ",") { continue }
      if next == UInt8(ascii: "]") { return .array(elements) }
      index -= 1
      throw error(.syntax, "expected ',' or ']'")
    }
  }

  private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
    let start = index
    var isInteger = true
    if peek() == UInt8(ascii: "-") { index += 1 }
    guard !atEnd else { throw error(.syntax, "invalid number") }
    if peek() == UInt8(ascii: "0") {
      index += 1
    } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(peek()) {
      while !atEnd, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek()) { index += 1 }
    } else {
      throw error(.syntax, "invalid number")
    }
    if !atEnd, peek() == UInt8(ascii: ".") {
      isInteger = false
      index += 1
      let digits = index
      while !atEnd, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek()) { index += 1 }
      guard index > digits else { throw error(.syntax, "invalid number") }
    }
    if !atEnd, peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      isInteger = false
      index += 1
      if !atEnd, peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
      let digits = index
      while !atEnd, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek()) { index += 1 }
      guard index > digits else { throw error(.syntax, "invalid number") }
    }
    let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
    if isInteger, text.count <= 20 {
      var value: Int64 = 0
      var negative = false
      var overflow = false
      for byte in text {
        if byte == UInt8(ascii: "-") { negative = true; continue }
        let digit = Int64(byte &- UInt8(ascii: "0"))
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
        if o1 || o2 { overflow = true; break }
        value = sum
      }
      if !overflow { return .int(value) }
    }
    // Exotic or large numbers: let the C library round them correctly.
    let string = String(decoding: text, as: UTF8.self)
    guard let double = Double(string) else { throw error(.syntax, "invalid number") }
    // `1e999` would read as infinity, which JSON cannot spell: the writer
    // would echo it as null. RFC 8259 section 9 lets a parser limit the
    // range, so a number past Double's is an error, not a silent change.
    guard double.isFinite else { throw error(.syntax, "number out of range") }
    return .double(double)
  }

  private mutating func parseString() throws(JSONParseError) -> String {
    index += 1  // opening quote
    let start = index
    // Fast path: plain ASCII with no escapes, the common case for keys and paths.
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        try chargeString(index - start)
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        index += 1
        return string
      }
      if byte == UInt8(ascii: "\\") || byte >= 0x80 || byte < 0x20 { break }
      index += 1
    }
    var scalars: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
    while true {
      guard index < bytes.count else { throw error(.syntax, "unterminated string") }
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        try chargeString(scalars.count)
        return String(decoding: scalars, as: UTF8.self)
      case UInt8(ascii: "\\"):
        index += 1
        try parseEscape(into: &scalars)
      case 0..<0x20:
        throw error(.syntax, "unescaped control character in string")
      case 0x80...0xFF:
        try copyUTF8Sequence(into: &scalars)
      default:
        scalars.append(byte)
        index += 1
      }
    }
  }

  @inline(__always) private mutating func chargeString(_ count: Int) throws(JSONParseError) {
    if count > Cost.inlineString { try charge(Cost.stringHeader + count) }
  }

  private mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
    guard !atEnd else { throw error(.syntax, "unterminated escape") }
    let byte = peek()
    index += 1
    switch byte {
    case UInt8(ascii: "\""): out.append(0x22)
    case UInt8(ascii: "\\"): out.append(0x5C)
    case UInt8(ascii: "/"): out.append(0x2F)
    case UInt8(ascii: "b"): out.append(0x08)
    case UInt8(ascii: "f"): out.append(0x0C)
    case UInt8(ascii: "n"): out.append(0x0A)
    case UInt8(ascii: "r"): out.append(0x0D)
    case UInt8(ascii: "t"): out.append(0x09)
    case UInt8(ascii: "u"):
      var scalar = UInt32(try parseHex4())
      if (0xD800...0xDBFF).contains(scalar) {
        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        else { throw error(.invalidUTF8, "unpaired surrogate escape") }
        index += 2
        let low = UInt32(try parseHex4())
        guard (0xDC00...0xDFFF).contains(low) else { throw error(.invalidUTF8, "unpaired surrogate escape") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00...0xDFFF).contains(scalar) {
        throw error(.invalidUTF8, "unpaired surrogate escape")
      }
      guard let unicode = Unicode.Scalar(scalar) else { throw error(.invalidUTF8, "invalid escape") }
      out.append(contentsOf: UTF8.encode(unicode)!)
    default:
      throw error(.syntax, "invalid escape")
    }
  }

  private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
    guard bytes.count - index >= 4 else { throw error(.syntax, "truncated \\u escape") }
    var value: UInt16 = 0
    for _ in 0..<4 {
      let byte = bytes[index]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw error(.syntax, "invalid \\u escape")
      }
      value = value << 4 | UInt16(digit)
      index += 1
    }
    return value
  }

  /// Copies one multi-byte UTF-8 sequence, rejecting overlongs, surrogates and
  /// code points past U+10FFFF (RFC 3629).
  private mutating func copyUTF8Sequence(into out: inout [UInt8]) throws(JSONParseError) {
    let lead = bytes[index]
    let length: Int
    var lower: UInt8 = 0x80
    var upper: UInt8 = 0xBF
    switch lead {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; upper = 0x9F
    case 0xF0: length = 4; lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; upper = 0x8F
    default: throw error(.invalidUTF8, "invalid UTF-8")
    }
    guard bytes.count - index >= length else { throw error(.invalidUTF8, "truncated UTF-8 sequence") }
    let second = bytes[index + 1]
    guard second >= lower, second <= upper else { throw error(.invalidUTF8, "invalid UTF-8") }
    for offset in 2..<max(length, 2) where bytes[index + offset] & 0xC0 != 0x80 {
      throw error(.invalidUTF8, "invalid UTF-8")
    }
    for offset in 0..<length { out.append(bytes[index + offset]) }
    index += length
  }
}
