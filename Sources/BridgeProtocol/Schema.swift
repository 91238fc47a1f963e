public import JSONRPC

/// Small builders for the JSON Schemas in request types, so each one reads
/// like the contract's table.
public enum Schema {
  public static let string: JSONValue = ["type": "string"]
  public static let boolean: JSONValue = ["type": "boolean"]
  public static let integer: JSONValue = ["type": "integer"]
  public static let null: JSONValue = ["type": "null"]
  public static let any: JSONValue = [:]
  public static let nullableString: JSONValue = ["type": ["string", "null"]]

  public static func string(_ description: String) -> JSONValue {
    ["type": "string", "description": .string(description)]
  }

  /// A string that may not be empty: a name the server has to look up
  /// (a file, a revision), where "" names nothing and is refused.
  public static func nonEmptyString(_ description: String) -> JSONValue {
    ["type": "string", "minLength": 1, "description": .string(description)]
  }

  public static func enumeration(_ values: [String], description: String? = nil) -> JSONValue {
    var object: JSONObject = ["type": "string", "enum": .array(values.map { .string($0) })]
    if let description { object["description"] = .string(description) }
    return .object(object)
  }

  public static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }

  public static func constant(_ value: JSONValue) -> JSONValue { ["const": value] }

  /// An object schema. Properties keep their order; `additional` is whether
  /// unknown members are allowed (params: yes, so clients may add fields).
  public static func object(
    _ properties: KeyValuePairs<String, JSONValue>, required: [String] = [], additional: Bool = true
  ) -> JSONValue {
    var object: JSONObject = ["type": "object"]
    object["properties"] = .object(JSONObject(properties.map { (key: $0.key, value: $0.value) }))
    if !required.isEmpty { object["required"] = .array(required.map { .string($0) }) }
    if !additional { object["additionalProperties"] = false }
    return .object(object)
  }

  /// Params schema of a method that works on a conversation.
  public static func params(
    _ properties: KeyValuePairs<String, JSONValue>, required: [String] = []
  ) -> JSONValue {
    var all: [(key: String, value: JSONValue)] = properties.map { (key: $0.key, value: $0.value) }
    all.append((key: "conversationId", value: string("The conversation; the default one when absent.")))
    var object: JSONObject = ["type": "object", "properties": .object(JSONObject(all))]
    if !required.isEmpty { object["required"] = .array(required.map { .string($0) }) }
    return .object(object)
  }

  /// `workDoneToken`: LSP's progress token, an integer or a string.
  public static let progressToken: JSONValue = [
    "type": ["integer", "string"],
    "description": "When given, $/progress notifications are sent on this token.",
  ]
}
