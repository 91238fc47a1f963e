public import JSONRPC

/// Typed access to a request's `params`, answering -32602 with the field and
/// the reason, shaped like FastAPI's 422 so HTTP clients see what OpenHands
/// would send them.
public struct ParamsReader: Sendable {
  public let object: JSONObject
  /// `query` for GET routes, `body` for POST ones: where HTTP clients put it.
  public let location: String

  public init(_ params: JSONValue?, location: String = "query") throws(ResponseError) {
    self.location = location
    switch params {
    // No params, null and [] (by-position with no arguments, which is how
    // Neovim's built-in client encodes an empty Lua table) all mean none.
    case nil, .null?, .array([])?: object = JSONObject()
    case .object(let object)?: self.object = object
    case .some(let other):
      throw BridgeError.invalidParams(
        field: nil, type: "model_attributes_type", message: "params must be an object, got \(other.typeName)",
        input: other, location: location)
    }
  }

  public subscript(key: String) -> JSONValue? { object[key] }

  public func string(_ key: String) throws(ResponseError) -> String {
    guard let value = object[key], !value.isNull else { throw missing(key) }
    guard case .string(let string) = value else { throw wrongType(key, value, "string") }
    return string
  }

  public func optionalString(_ key: String) throws(ResponseError) -> String? {
    guard let value = object[key], !value.isNull else { return nil }
    guard case .string(let string) = value else { throw wrongType(key, value, "string") }
    return string
  }

  public func optionalBool(_ key: String) throws(ResponseError) -> Bool? {
    guard let value = object[key], !value.isNull else { return nil }
    switch value {
    case .bool(let bool): return bool
    // Query strings carry booleans as text.
    case .string("true"), .string("1"): return true
    case .string("false"), .string("0"): return false
    default: throw wrongType(key, value, "bool")
    }
  }

  public func optionalInt(_ key: String) throws(ResponseError) -> Int64? {
    guard let value = object[key], !value.isNull else { return nil }
    if let int = value.intValue { return int }
    if case .string(let text) = value, let int = Int64(text) { return int }
    throw wrongType(key, value, "int")
  }

  public func optionalStringArray(_ key: String) throws(ResponseError) -> [String]? {
    guard let value = object[key], !value.isNull else { return nil }
    if case .string(let single) = value { return [single] }
    guard case .array(let elements) = value else { throw wrongType(key, value, "list") }
    var strings: [String] = []
    for element in elements {
      guard case .string(let string) = element else { throw wrongType(key, value, "list of strings") }
      strings.append(string)
    }
    return strings
  }

  /// One of a fixed set of strings.
  public func optionalEnum(_ key: String, _ allowed: [String]) throws(ResponseError) -> String? {
    guard let value = try optionalString(key) else { return nil }
    guard allowed.contains(value) else {
      throw BridgeError.invalidParams(
        field: key, type: "enum",
        message: "Input should be " + allowed.map { "'\($0)'" }.joined(separator: " or "),
        input: .string(value), location: location)
    }
    return value
  }

  public func missing(_ key: String) -> ResponseError {
    BridgeError.invalidParams(field: key, type: "missing", message: "Field required", input: .null, location: location)
  }

  public func wrongType(_ key: String, _ value: JSONValue, _ expected: String) -> ResponseError {
    let article = expected.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    return BridgeError.invalidParams(
      field: key, type: "\(expected.split(separator: " ").first ?? "value")_type",
      message: "Input should be \(article) valid \(expected)", input: value, location: location)
  }
}
