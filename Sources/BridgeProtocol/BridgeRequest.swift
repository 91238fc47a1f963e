public import JSONRPC

/// Params of a method that takes none (but tolerates `{}`, `null`, absence).
public struct NoParams: Sendable, Equatable {
  public init() {}
  public init(_ params: JSONValue?) throws(ResponseError) { _ = try ParamsReader(params) }
}

/// One method of the bridge, described once: its name, params, result, the
/// JSON Schemas that `Protocol/openrpc.json` is generated from, and its REST
/// route. One type per file under `Requests/`, all listed in `Registry`.
public protocol BridgeRequest: Sendable {
  associatedtype Params: Sendable
  /// What the handler returns; its `json` is the wire form, which
  /// `resultSchema` describes (held together by a test over `examples`).
  associatedtype Result: BridgeResult

  static var method: String { get }
  /// One line for OpenRPC's `summary` and the docs page.
  static var summary: String { get }
  /// A JSON Schema (object) for `params`.
  static var paramsSchema: JSONValue { get }
  /// A JSON Schema for `result`: what `Result.json` must fit.
  static var resultSchema: JSONValue { get }
  /// Domain error codes this method can answer, beyond the JSON-RPC ones.
  static var errors: [BridgeErrorCode] { get }
  /// Where the HTTP adapter serves it; nil for stdio-only methods.
  static var http: HTTPRoute? { get }
  /// Whether the method takes `conversationId` (every workspace method does).
  static var takesConversation: Bool { get }

  /// Reads `params` (absent, null or an object), answering -32602 with the
  /// offending field when it does not fit.
  static func decode(_ params: JSONValue?) throws(ResponseError) -> Params
}

extension BridgeRequest {
  public static var errors: [BridgeErrorCode] { [] }
  public static var http: HTTPRoute? { nil }
  public static var takesConversation: Bool { true }
}

extension BridgeRequest where Params == NoParams {
  public static func decode(_ params: JSONValue?) throws(ResponseError) -> NoParams { try NoParams(params) }
  public static var paramsSchema: JSONValue { Schema.object([:]) }
}

/// How the HTTP adapter exposes a method: a pure mapping from query or body
/// to params.
public struct HTTPRoute: Sendable {
  public enum Verb: String, Sendable { case get = "GET", post = "POST" }
  public enum Scope: Sendable {
    /// A path at the server root, outside any conversation (`/health`).
    case root
    /// A path under `/api/conversations/{id}/`.
    case conversation
  }

  /// One query parameter and the params member it fills.
  public struct Query: Sendable {
    public var name: String
    public var param: String
    public var required: Bool
    public init(_ name: String, param: String? = nil, required: Bool = false) {
      self.name = name
      self.param = param ?? name
      self.required = required
    }
  }

  public var verb: Verb
  public var scope: Scope
  /// Relative to the scope: `list-files`, `git/diff`, `health`.
  public var path: String
  public var query: [Query]
  /// POST routes take the JSON body as params.
  public var bodyIsParams: Bool
  /// The response is a byte stream (zip-directory), not JSON.
  public var streams: Bool
  /// Params the HTTP door refuses, also through `POST /api/jsonrpc`: they
  /// act outside the workspace (zipDirectory's `destination` writes a file
  /// anywhere the server may), which only the process's owner on stdio may ask.
  public var stdioOnlyParams: [String]

  public init(
    _ verb: Verb, _ scope: Scope, _ path: String, query: [Query] = [], bodyIsParams: Bool = false,
    streams: Bool = false, stdioOnlyParams: [String] = []
  ) {
    self.verb = verb
    self.scope = scope
    self.path = path
    self.query = query
    self.bodyIsParams = bodyIsParams
    self.streams = streams
    self.stdioOnlyParams = stdioOnlyParams
  }

  /// The full path template, as OpenAPI writes it.
  public var template: String {
    switch scope {
    case .root: "/\(path)"
    case .conversation: "/api/conversations/{conversation_id}/\(path)"
    }
  }
}
