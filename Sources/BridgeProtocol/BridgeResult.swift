public import JSONRPC

/// A method's result: a typed value with one JSON form on the wire, its
/// members in the order the contract (and OpenHands) writes them.
///
/// `examples` are values covering every shape the result takes (each
/// optional member set and unset); `ResultSchemaTests` encodes them and
/// validates each against the request's `resultSchema` with a real JSON
/// Schema validator, and checks the members come in the schema's order, so
/// the schema and the encoding cannot drift apart.
public protocol BridgeResult: Sendable {
  var json: JSONValue { get }
  static var examples: [Self] { get }
}

/// The `null` result of a method that answers nothing (`closeConversation`,
/// `shutdown`).
public struct NullResult: BridgeResult, Equatable {
  public init() {}
  public var json: JSONValue { .null }
  public static let examples = [NullResult()]
}
