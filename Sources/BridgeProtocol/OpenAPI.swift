public import JSONRPC

/// Builds the OpenAPI 3.1 document of `agent-bridge serve` from the registry,
/// the same source `OpenRPC.document` uses: every method with an `http`
/// route, plus the server's own paths (`/alive`, `/server_info`,
/// `/api/jsonrpc`, `/openapi.json`, `/docs`).
public enum OpenAPI {
  public static let apiKeyHeader = "X-Session-API-Key"

  public static func document(serverVersion: String) -> JSONValue {
    var paths = JSONObject()
    for request in Registry.requests {
      guard let route = request.http else { continue }
      var item = paths[route.template]?.objectValue ?? JSONObject()
      item[route.verb.rawValue.lowercased()] = withBrowserRefusals(operation(request, route), route.verb)
      paths[route.template] = .object(item)
    }
    for path in serverPaths {
      var item = paths[path.path]?.objectValue ?? JSONObject()
      item[path.verb.rawValue.lowercased()] = withBrowserRefusals(path.operation, path.verb)
      paths[path.path] = .object(item)
    }
    return [
      "openapi": "3.1.0",
      "info": [
        "title": "AgentBridge",
        "version": .string(serverVersion),
        "description": .string(
          "The OpenHands conversation workspace API, served by `agent-bridge serve` from the same dispatcher as "
            + "its JSON-RPC methods. When the server was started with --api-key, every /api/ path needs the "
            + "\(apiKeyHeader) header. A request from a web page of another origin (an Origin other than "
            + "the server's own or --allow-origin, or Sec-Fetch-Site cross-site or same-site) is 403 on every "
            + "path; a POST whose Content-Type is not application/json is 415; a connection that has not sent "
            + "a whole request within --request-timeout (30 s) is closed."),
      ],
      "paths": .object(paths),
      "components": [
        "schemas": [
          "Detail": Schema.object(["detail": Schema.string], required: ["detail"]),
          "Error": Schema.object(["error": Schema.string], required: ["error"]),
          "ValidationError": Schema.object(
            [
              "detail": Schema.array(
                Schema.object(
                  [
                    "type": Schema.string,
                    "loc": Schema.array(["type": ["string", "integer"]]),
                    "msg": Schema.string,
                    "input": Schema.any,
                  ], required: ["type", "loc", "msg"]))
            ], required: ["detail"]),
        ],
        "securitySchemes": [
          "SessionAPIKey": [
            "type": "apiKey", "in": "header", "name": .string(apiKeyHeader),
            "description": "Required on /api/ paths when the server was started with --api-key.",
          ]
        ],
      ],
    ]
  }

  /// What the HTTP layer answers before any method runs: 403 to a foreign
  /// page on every path, 415 to a POST that is not JSON.
  static func withBrowserRefusals(_ operation: JSONValue, _ verb: HTTPRoute.Verb) -> JSONValue {
    guard var operation = operation.objectValue else { return operation }
    var responses = operation["responses"]?.objectValue ?? JSONObject()
    let crossOrigin = "request from a page of another origin: {\"detail\": \"Cross-origin request refused\"}"
    if let existing = responses["403"]?.objectValue {
      let schema = existing["content"]?["application/json"]?["schema"] ?? Schema.any
      let description = (existing["description"]?.stringValue ?? "") + "; " + crossOrigin
      responses["403"] = jsonResponse(description, ["oneOf": [schema, detail]])
    } else {
      responses["403"] = jsonResponse(crossOrigin, detail)
    }
    if verb == .post {
      responses["415"] = jsonResponse("the body's Content-Type is not application/json", detail)
    }
    operation["responses"] = .object(responses)
    return .object(operation)
  }

  // MARK: Registry methods

  /// `schema`, or null: the description kept outside so that readers show it.
  static func orNull(_ schema: JSONValue) -> JSONValue {
    guard case .object(var object) = schema, object["type"] != nil || object["enum"] != nil else { return schema }
    let description = object["description"]
    object["description"] = nil
    var wrapped: JSONObject = ["anyOf": [.object(object), Schema.null]]
    if let description { wrapped["description"] = description }
    return .object(wrapped)
  }

  static func operation(_ request: any BridgeRequest.Type, _ route: HTTPRoute) -> JSONValue {
    let schema = request.paramsSchema
    let properties = schema["properties"]?.objectValue ?? JSONObject()
    var parameters: [JSONValue] = []
    if route.scope == .conversation {
      parameters.append([
        "name": "conversation_id", "in": "path", "required": true, "schema": Schema.string,
        "description": "The conversation (see listConversations); its id is in the server's log at start.",
      ])
    }
    for query in route.query {
      var parameter: JSONObject = [
        "name": .string(query.name), "in": "query", "required": .bool(query.required),
        "schema": properties[query.param] ?? Schema.string,
      ]
      if let description = properties[query.param]?["description"] { parameter["description"] = description }
      parameters.append(.object(parameter))
    }
    var operation: JSONObject = [
      "operationId": .string(request.method),
      "summary": .string(request.summary),
      "description": .string("JSON-RPC method `\(request.method)`."),
      "tags": .array([route.scope == .conversation ? "workspace" : "server"]),
    ]
    if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
    if route.bodyIsParams {
      let required = schema["required"]?.arrayValue ?? []
      var body = JSONObject()
      for member in properties where member.key != "conversationId" {
        // The params reader takes null for an optional member as its absence.
        body[member.key] = required.contains(.string(member.key)) ? member.value : Self.orNull(member.value)
      }
      var bodySchema: JSONObject = ["type": "object", "properties": .object(body)]
      if !required.isEmpty { bodySchema["required"] = .array(required) }
      operation["requestBody"] = [
        "required": .bool(!required.isEmpty),
        "content": ["application/json": ["schema": .object(bodySchema)]],
      ]
    }
    var responses = JSONObject()
    if route.streams {
      responses["200"] = [
        "description": "The archive, streamed as it is written.",
        "headers": [
          "Content-Disposition": [
            "schema": Schema.string, "description": "attachment; filename=\"workspace.zip\"",
          ]
        ],
        "content": ["application/zip": ["schema": ["type": "string", "contentMediaType": "application/zip"]]],
      ]
    } else {
      responses["200"] = [
        "description": "Success.", "content": ["application/json": ["schema": request.resultSchema]],
      ]
    }
    var codes = request.errors
    if request.takesConversation || route.scope == .conversation { codes.insert(.conversationNotFound, at: 0) }
    codes.append(contentsOf: [.invalidParams, .internalError])
    if route.bodyIsParams { codes.append(.parseError) }
    if route.scope == .conversation { codes.append(.unauthorized) }
    for (status, response) in errorResponses(codes) { responses[status] = response }
    operation["responses"] = .object(responses)
    if route.scope == .conversation { operation["security"] = optionalKey }
    return .object(operation)
  }

  /// One response per status: several codes can share one (404 for a
  /// missing conversation and a missing file).
  static func errorResponses(_ codes: [BridgeErrorCode]) -> [(String, JSONValue)] {
    var byStatus: [(status: Int, codes: [BridgeErrorCode])] = []
    for code in codes {
      guard let status = code.httpStatus else { continue }
      if let index = byStatus.firstIndex(where: { $0.status == status }) {
        if !byStatus[index].codes.contains(code) { byStatus[index].codes.append(code) }
      } else {
        byStatus.append((status, [code]))
      }
    }
    return byStatus.sorted { $0.status < $1.status }.map { entry in
      var refs: [String] = []
      for code in entry.codes where !refs.contains(bodySchema(code)) { refs.append(bodySchema(code)) }
      let schema: JSONValue =
        refs.count == 1
        ? ["$ref": .string(refs[0])] : ["oneOf": .array(refs.map { ["$ref": .string($0)] })]
      let description = entry.codes.map { "\($0.meaning) (\($0.code.rawValue))" }.joined(separator: "; ")
      return (String(entry.status), jsonResponse(description, schema))
    }
  }

  /// A response whose body is JSON fitting `schema`.
  static func jsonResponse(_ description: String, _ schema: JSONValue) -> JSONValue {
    ["description": .string(description), "content": ["application/json": ["schema": schema]]]
  }

  /// The `{"detail": ...}` body of errors answered before a method runs.
  static let detail: JSONValue = ["$ref": "#/components/schemas/Detail"]

  /// Which of the contract's three body shapes an error uses.
  static func bodySchema(_ code: BridgeErrorCode) -> String {
    switch code {
    case .parseError, .invalidRequest, .methodNotFound, .conversationNotFound, .unauthorized:
      "#/components/schemas/Detail"
    case .invalidParams: "#/components/schemas/ValidationError"
    default: "#/components/schemas/Error"
    }
  }

  /// The key is needed only when the server has one: either requirement.
  static let optionalKey: JSONValue = [["SessionAPIKey": []], [:]]

  // MARK: The server's own paths

  struct ServerPath {
    var verb: HTTPRoute.Verb
    var path: String
    var operation: JSONValue
  }

  static let serverPaths: [ServerPath] = [
    ServerPath(
      verb: .get, path: "/alive",
      operation: [
        "operationId": "alive", "summary": "Liveness of the HTTP server.", "tags": ["server"],
        "responses": [
          "200": [
            "description": "Always {\"status\":\"ok\"}.",
            "content": [
              "application/json": [
                "schema": Schema.object(["status": Schema.constant("ok")], required: ["status"])
              ]
            ],
          ]
        ],
      ]),
    ServerPath(
      verb: .get, path: "/server_info",
      operation: [
        "operationId": "serverInfo", "summary": "Uptime, idle time and version of the server.",
        "tags": ["server"],
        "responses": [
          "200": [
            "description": "Seconds since start and since the last request, and the version.",
            "content": [
              "application/json": [
                "schema": Schema.object(
                  ["uptime": ["type": "number"], "idle_time": ["type": "number"], "version": Schema.string],
                  required: ["uptime", "idle_time", "version"])
              ]
            ],
          ]
        ],
      ]),
    ServerPath(
      verb: .post, path: "/api/jsonrpc",
      operation: [
        "operationId": "jsonrpc",
        "summary": "A JSON-RPC 2.0 request or batch, answered by the same dispatcher as stdio.",
        "tags": ["server"],
        "requestBody": [
          "required": true,
          "content": [
            "application/json": [
              // Any JSON: JSON-RPC answers what is not a request (an array
              // of numbers, a string) with an error reply, as the 200 says.
              "schema": [
                "description": .string(
                  "A request or notification (an object), or a batch (an array of them). Anything else is"
                    + " answered 200 with a JSON-RPC error (-32600, or -32700 when not JSON).")
              ],
              "example": ["jsonrpc": "2.0", "id": 1, "method": "health"],
            ]
          ],
        ],
        "responses": [
          "200": [
            "description": "The JSON-RPC reply: a response object, or an array for a batch. Errors are replies too.",
            "content": ["application/json": ["schema": Schema.any]],
          ],
          "204": ["description": "Notifications only: nothing to reply."],
          "400": jsonResponse("No body: there is no JSON-RPC message to answer.", detail),
          "415": jsonResponse("The body is not declared application/json.", detail),
          "401": jsonResponse("unauthorized (-32017)", detail),
        ],
        "security": optionalKey,
      ]),
    ServerPath(
      verb: .get, path: "/api/conversations/{conversation_id}/events",
      operation: [
        "operationId": "events",
        "summary": .string(
          "The conversation's workspace changes as Server-Sent Events: a subscribe to files and git, for as long"
            + " as the response lasts."),
        "tags": ["conversation"],
        "parameters": [
          ["name": "conversation_id", "in": "path", "required": true, "schema": Schema.string]
        ],
        "responses": [
          "200": [
            "description": .string(
              "text/event-stream: one event per notification, `event: filesChanged`, `event: gitChanged` or"
                + " `event: watchState`, whose `data:` is the notification's params (workspace/filesChanged,"
                + " workspace/gitChanged, workspace/watchState); the first"
                + " gitChanged at once; a `: heartbeat` comment every 15 s; ended cleanly when the server shuts"
                + " down."),
            // Before OpenAPI 3.2, `schema` of an event stream describes one event.
            "content": [
              "text/event-stream": [
                "schema": Schema.object(
                  [
                    "event": Schema.enumeration(["filesChanged", "gitChanged", "watchState"]),
                    "data": Schema.string("The notification's params, as JSON."),
                  ], required: ["event", "data"])
              ]
            ],
          ],
          "401": jsonResponse("unauthorized (-32017)", detail),
          "404": jsonResponse("conversation not found (-32001)", detail),
        ],
        "security": optionalKey,
      ]),
    ServerPath(
      verb: .get, path: "/openapi.json",
      operation: [
        "operationId": "openapi", "summary": "This document.", "tags": ["server"],
        "responses": [
          "200": ["description": "OpenAPI 3.1.", "content": ["application/json": ["schema": ["type": "object"]]]]
        ],
      ]),
    ServerPath(
      verb: .get, path: "/docs",
      operation: [
        "operationId": "docs", "summary": "An interactive page to try every call.", "tags": ["server"],
        "description": "The same page is served at `/swagger-ui/` (and `/swagger-ui`), where the OpenHands API reference links it.",
        "responses": [
          "200": ["description": "HTML.", "content": ["text/html": ["schema": ["type": "string"]]]]
        ],
      ]),
  ]
}
