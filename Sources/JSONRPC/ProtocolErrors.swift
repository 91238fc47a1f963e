/// Builds the errors the JSON-RPC layer answers by itself (a parse error,
/// an invalid request, a limit, a thrown error that is no `ResponseError`)
/// with the `data` member a server gives them. JSON-RPC leaves `data` to the
/// server, so `plain` puts none; the bridge's (`BridgeError.protocolErrors`)
/// carries its HTTP mapping.
public struct ProtocolErrors: Sendable {
  /// The `data` member of an error with this code and message; nil for none.
  public var data: @Sendable (ErrorCode, _ message: String) -> JSONValue?

  public init(data: @escaping @Sendable (ErrorCode, _ message: String) -> JSONValue?) {
    self.data = data
  }

  public static let plain = ProtocolErrors { _, _ in nil }

  public func make(_ code: ErrorCode, _ message: String) -> ResponseError {
    ResponseError(code: code, message: message, data: data(code, message))
  }

  public func parseError(_ message: String) -> ResponseError { make(.parseError, message) }
  public func invalidRequest(_ message: String) -> ResponseError { make(.invalidRequest, message) }
  public func methodNotFound(_ method: String) -> ResponseError { make(.methodNotFound, "Method not found: \(method)") }
  public func internalError(_ message: String) -> ResponseError { make(.internalError, message) }
}
