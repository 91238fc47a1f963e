/// The domain side of a connection.
public protocol RequestHandler: Sendable {
  /// Called in arrival order; must not block.
  func route(_ request: IncomingRequest) -> Handling
  /// Called in arrival order for every notification except `$/cancelRequest`,
  /// which the connection handles itself.
  func notify(method: String, params: JSONValue?)
}
