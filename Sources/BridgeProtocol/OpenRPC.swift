public import JSONRPC

/// Builds the OpenRPC 1.3 document from the registry. `Protocol/openrpc.json`
/// is this document, written by `agent-bridge openrpc`; a test keeps the two
/// equal.
public enum OpenRPC {
  public static func document(serverVersion: String) -> JSONValue {
    var methods: [JSONValue] = []
    for request in Registry.requests {
      var params: [JSONValue] = []
      // JSON-RPC by-name params: one OpenRPC param per member of the schema.
      let schema = request.paramsSchema
      let required = Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
      for member in schema["properties"]?.objectValue ?? JSONObject() {
        params.append([
          "name": .string(member.key),
          "required": .bool(required.contains(member.key)),
          "schema": member.value,
        ])
      }
      var errorCodes = request.errors
      if request.takesConversation { errorCodes.insert(.conversationNotFound, at: 0) }
      var method: JSONObject = [
        "name": .string(request.method),
        "summary": .string(request.summary),
        "paramStructure": "by-name",
        "params": .array(params),
        "result": ["name": .string("\(request.method)Result"), "schema": request.resultSchema],
      ]
      if !errorCodes.isEmpty {
        method["errors"] = .array(errorCodes.map { error(for: $0) })
      }
      if let http = request.http {
        var route: JSONObject = ["method": .string(http.verb.rawValue), "path": .string(http.template)]
        if !http.query.isEmpty {
          route["query"] = .array(http.query.map { ["name": .string($0.name), "param": .string($0.param)] })
        }
        method["x-http"] = .object(route)
      }
      methods.append(.object(method))
    }
    return [
      "openrpc": "1.3.2",
      "info": [
        "title": "AgentBridge",
        "version": .string(serverVersion),
        "description": "The OpenHands conversation workspace API as JSON-RPC 2.0 over stdio (see CONTRACT.md).",
      ],
      "methods": .array(methods),
      "components": [
        "errors": .object(
          JSONObject(BridgeErrorCode.allCases.map { (key: String(describing: $0), value: error(for: $0)) }))
      ],
      "x-notifications": .array(
        Registry.notifications.map { ["name": .string($0.method), "summary": .string($0.summary)] }),
      "x-server-notifications": .array(
        ServerNotifications.all.map {
          ["name": .string($0.method), "summary": .string($0.summary), "params": $0.params]
        }),
      "x-framing": ["lsp", "ndjson"],
    ]
  }

  /// One JSON Schema (2020-12) document per method's params and result, as
  /// `Protocol/schemas/<method>.params.json` and `.result.json`, for tools
  /// that validate messages without reading OpenRPC.
  public static func schemaFiles() -> [(name: String, document: JSONValue)] {
    Registry.requests.flatMap { request -> [(name: String, document: JSONValue)] in
      [
        ("\(request.method).params.json", schemaDocument(request.paramsSchema, title: "\(request.method) params")),
        ("\(request.method).result.json", schemaDocument(request.resultSchema, title: "\(request.method) result")),
      ]
    }
  }

  static func schemaDocument(_ schema: JSONValue, title: String) -> JSONValue {
    var document: JSONObject = [
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "title": .string(title),
    ]
    for member in schema.objectValue ?? JSONObject() { document[member.key] = member.value }
    return .object(document)
  }

  static func error(for code: BridgeErrorCode) -> JSONValue {
    var object: JSONObject = ["code": .int(Int64(code.code.rawValue)), "message": .string(code.meaning)]
    if let status = code.httpStatus { object["data"] = ["httpStatus": .int(Int64(status))] }
    return .object(object)
  }
}
