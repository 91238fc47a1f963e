/// A request as the connection hands it to a handler.
public struct IncomingRequest: Sendable {
  public var id: RequestID
  public var method: String
  /// Absent `params` arrive as nil; handlers treat nil like `{}`.
  public var params: JSONValue?

  public init(id: RequestID, method: String, params: JSONValue?) {
    self.id = id
    self.method = method
    self.params = params
  }
}
