/// A JSON value as it travels on the wire.
///
/// The bridge parses and writes JSON itself (see `JSONParser` and `JSONWriter`)
/// rather than through Foundation: the parser must enforce the contract's
/// limits (strict UTF-8, nesting depth, elements counted as they are read)
/// and keep ids exact as Int64, objects keep their key order so that results
/// come out in the order OpenHands writes them, which `JSONSerialization`
/// loses, and per-message cost matters on the stdio path (`bench/json/run`
/// compares both on tiny requests and large replies).
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  /// A number written without fraction or exponent that fits in 64 bits.
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)
  /// A string already escaped, for text too large to go through a `String`
  /// (selectFile's): equal to the `.string` it stands for.
  case encodedString(EncodedString)

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): true
    case (.bool(let a), .bool(let b)): a == b
    case (.int(let a), .int(let b)): a == b
    case (.double(let a), .double(let b)): a == b
    case (.string(let a), .string(let b)): a == b
    case (.array(let a), .array(let b)): a == b
    case (.object(let a), .object(let b)): a == b
    case (.encodedString(let a), .encodedString(let b)): a == b
    case (.encodedString(let a), .string(let b)), (.string(let b), .encodedString(let a)): a.string == b
    default: false
    }
  }
}

/// An ordered JSON object. Lookups are linear: protocol objects are small, and
/// order matters more here than asymptotics.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
  public var members: [(key: String, value: JSONValue)]

  public init() { members = [] }

  public init(_ members: [(key: String, value: JSONValue)]) { self.members = members }

  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    members = elements.map { (key: $0.0, value: $0.1) }
  }

  public var count: Int { members.count }
  public var keys: [String] { members.map(\.key) }

  /// The last member with this key wins, as in most JSON parsers.
  public subscript(key: String) -> JSONValue? {
    get { members.last(where: { $0.key == key })?.value }
    set {
      if let index = members.lastIndex(where: { $0.key == key }) {
        if let newValue { members[index].value = newValue } else { members.remove(at: index) }
      } else if let newValue {
        members.append((key: key, value: newValue))
      }
    }
  }

  public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
    members.makeIterator()
  }

  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    guard lhs.members.count == rhs.members.count else { return false }
    // Key order is not part of JSON equality.
    for (key, value) in lhs.members where rhs[key] != value { return false }
    return true
  }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  public init(nilLiteral: ()) { self = .null }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(stringLiteral value: String) { self = .string(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
  }
}

extension JSONValue {
  public var isNull: Bool { if case .null = self { true } else { false } }

  public var stringValue: String? {
    switch self {
    case .string(let s): s
    case .encodedString(let e): e.string
    default: nil
    }
  }

  public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }

  public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }

  public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

  /// Integers, and doubles that hold a whole number.
  public var intValue: Int64? {
    switch self {
    case .int(let i): return i
    case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: return Int64(d)
    default: return nil
    }
  }

  public var doubleValue: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    default: return nil
    }
  }

  /// Member access that reads as `value["params"]`; nil for non-objects.
  public subscript(key: String) -> JSONValue? { objectValue?[key] }

  /// The JSON type's name, for error messages ("expected a string, got an array").
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .int, .double: "a number"
    case .string, .encodedString: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}
