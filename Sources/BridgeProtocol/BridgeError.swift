public import JSONRPC

/// The contract's error codes (section 5), JSON-RPC's and the bridge's own.
public enum BridgeErrorCode: Int, Sendable, CaseIterable {
  case parseError = -32700
  case invalidRequest = -32600
  case methodNotFound = -32601
  case invalidParams = -32602
  case internalError = -32603
  case serverNotInitialized = -32002
  case requestCancelled = -32800
  case conversationNotFound = -32001
  case fileNotFound = -32010
  case binaryFile = -32011
  case notUTF8 = -32012
  case notRegularFile = -32013
  case outsideWorkspace = -32014
  case tooLarge = -32015
  case notGitRepository = -32016
  case unauthorized = -32017

  public var code: ErrorCode { ErrorCode(rawValue: rawValue) }

  /// What the contract's table calls it.
  public var meaning: String {
    switch self {
    case .parseError: "parse error"
    case .invalidRequest: "invalid request"
    case .methodNotFound: "method not found"
    case .invalidParams: "invalid params"
    case .internalError: "internal error"
    case .serverNotInitialized: "not initialized (--strict)"
    case .requestCancelled: "cancelled"
    case .conversationNotFound: "conversation not found"
    case .fileNotFound: "file or directory not found"
    case .binaryFile: "binary file"
    case .notUTF8: "not UTF-8 text"
    case .notRegularFile: "a directory, or not a regular file"
    case .outsideWorkspace: "outside the workspace"
    case .tooLarge: "too large"
    case .notGitRepository: "not a git repository"
    case .unauthorized: "unauthorized (HTTP only)"
    }
  }

  /// The HTTP status the adapter answers with, when there is one.
  public var httpStatus: Int? {
    switch self {
    case .parseError, .invalidRequest, .notRegularFile: 400
    case .methodNotFound, .conversationNotFound, .fileNotFound, .notGitRepository: 404
    case .invalidParams: 422
    case .internalError: 500
    case .serverNotInitialized, .requestCancelled: nil
    case .binaryFile, .notUTF8: 415
    case .outsideWorkspace: 403
    case .tooLarge: 413
    case .unauthorized: 401
    }
  }
}

/// Builders for every domain error, each carrying `data: {httpStatus, body}`
/// so that the HTTP adapter is a pure mapping. Messages name paths as the
/// client gave them, never the server's absolute path.
public enum BridgeError {
  static func make(_ code: BridgeErrorCode, _ message: String, body: JSONValue) -> ResponseError {
    ResponseError(
      code: code.code, message: message,
      data: code.httpStatus.map { ResponseError.httpData($0, body) })
  }

  static func errorBody(_ code: BridgeErrorCode, _ message: String) -> ResponseError {
    make(code, message, body: ["error": .string(message)])
  }

  public static func conversationNotFound(_ id: String) -> ResponseError {
    let message = "Conversation \(id) not found"
    return make(.conversationNotFound, message, body: ["detail": .string(message)])
  }

  public static func fileNotFound(_ path: String) -> ResponseError {
    errorBody(.fileNotFound, "File not found: \(path)")
  }

  public static func binaryFile(_ path: String) -> ResponseError {
    errorBody(.binaryFile, "Unable to open binary file: \(path)")
  }

  public static func notUTF8(_ path: String) -> ResponseError {
    errorBody(.notUTF8, "File could not be decoded as utf-8: \(path)")
  }

  public static func isDirectory(_ path: String) -> ResponseError {
    errorBody(.notRegularFile, "Path is a directory: \(path)")
  }

  public static func notRegularFile(_ path: String) -> ResponseError {
    errorBody(.notRegularFile, "Path is not a regular file: \(path)")
  }

  public static func outsideWorkspace(_ path: String) -> ResponseError {
    errorBody(.outsideWorkspace, "Path is outside the workspace: \(path)")
  }

  public static func tooLarge(_ message: String) -> ResponseError {
    errorBody(.tooLarge, message)
  }

  public static let notGitRepository = errorBody(.notGitRepository, "Not a git repository")

  public static let unauthorized = make(.unauthorized, "Unauthorized", body: ["detail": "Unauthorized"])

  public static func internalError(_ message: String) -> ResponseError {
    errorBody(.internalError, message)
  }

  /// -32602 shaped like one entry of FastAPI's validation `detail` array.
  public static func invalidParams(
    field: String?, type: String, message: String, input: JSONValue, location: String = "query"
  ) -> ResponseError {
    var loc: [JSONValue] = [.string(location)]
    if let field { loc.append(.string(field)) }
    let detail: JSONValue = [
      "type": .string(type), "loc": .array(loc), "msg": .string(message), "input": input,
    ]
    let text = field.map { "Invalid params: \($0): \(message)" } ?? "Invalid params: \(message)"
    return make(.invalidParams, text, body: ["detail": [detail]])
  }
}
