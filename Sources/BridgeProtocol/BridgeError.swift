public import JSONRPC

/// The bridge's own error codes (the contract's section 5); JSON-RPC's are
/// JSONRPC's `ErrorCode`s.
extension ErrorCode {
  public static let conversationNotFound = ErrorCode(rawValue: -32001)
  public static let fileNotFound = ErrorCode(rawValue: -32010)
  public static let binaryFile = ErrorCode(rawValue: -32011)
  public static let notUTF8 = ErrorCode(rawValue: -32012)
  public static let notRegularFile = ErrorCode(rawValue: -32013)
  public static let outsideWorkspace = ErrorCode(rawValue: -32014)
  public static let tooLarge = ErrorCode(rawValue: -32015)
  public static let notGitRepository = ErrorCode(rawValue: -32016)
  public static let unauthorized = ErrorCode(rawValue: -32017)
}

/// The contract's error codes (section 5), JSON-RPC's and the bridge's own,
/// with what the contract says of each.
public enum BridgeErrorCode: Sendable, CaseIterable {
  case parseError
  case invalidRequest
  case methodNotFound
  case invalidParams
  case internalError
  case serverNotInitialized
  case requestCancelled
  case conversationNotFound
  case fileNotFound
  case binaryFile
  case notUTF8
  case notRegularFile
  case outsideWorkspace
  case tooLarge
  case notGitRepository
  case unauthorized

  public var code: ErrorCode {
    switch self {
    case .parseError: .parseError
    case .invalidRequest: .invalidRequest
    case .methodNotFound: .methodNotFound
    case .invalidParams: .invalidParams
    case .internalError: .internalError
    case .serverNotInitialized: .serverNotInitialized
    case .requestCancelled: .requestCancelled
    case .conversationNotFound: .conversationNotFound
    case .fileNotFound: .fileNotFound
    case .binaryFile: .binaryFile
    case .notUTF8: .notUTF8
    case .notRegularFile: .notRegularFile
    case .outsideWorkspace: .outsideWorkspace
    case .tooLarge: .tooLarge
    case .notGitRepository: .notGitRepository
    case .unauthorized: .unauthorized
    }
  }

  public init?(_ code: ErrorCode) {
    guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
    self = found
  }

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
    ResponseError(code: code.code, message: message, data: code.httpStatus.map { httpData($0, body) })
  }

  /// The contract's `data` member: what the HTTP adapter answers for an error.
  public static func httpData(_ status: Int, _ body: JSONValue) -> JSONValue {
    ["httpStatus": .int(Int64(status)), "body": body]
  }

  /// The errors the JSON-RPC layer answers by itself, with the contract's
  /// `data`: FastAPI's `{"detail": message}` for a request it refuses (404's
  /// plain `Not Found` for an unknown method), `{"error": message}` for an
  /// internal error.
  public static let protocolErrors = ProtocolErrors { code, message in
    guard let known = BridgeErrorCode(code), let status = known.httpStatus else { return nil }
    let body: JSONValue =
      switch known {
      case .methodNotFound: ["detail": "Not Found"]
      case .internalError: ["error": .string(message)]
      default: ["detail": .string(message)]
      }
    return httpData(status, body)
  }

  public static func parseError(_ message: String) -> ResponseError { protocolErrors.parseError(message) }

  public static func invalidRequest(_ message: String) -> ResponseError { protocolErrors.invalidRequest(message) }

  public static func methodNotFound(_ method: String) -> ResponseError { protocolErrors.methodNotFound(method) }

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
