public import BridgeProtocol
public import JSONRPC

/// The pure part of the adapter: which REST path serves which method, how a
/// request's query, body and URL become the method's params, and how an
/// outcome becomes a status and a body. No handler logic lives here; every
/// rule about params belongs to the method's `decode`, so HTTP and stdio
/// answer alike.
public enum RESTMapping {
  /// One REST endpoint: a method and the route its type declares.
  public struct Endpoint: Sendable {
    public var method: String
    public var route: HTTPRoute
  }

  /// Every method with an `http` route, in registry order.
  public static let endpoints: [Endpoint] = Registry.requests.compactMap { request in
    request.http.map { Endpoint(method: request.method, route: $0) }
  }

  /// Hummingbird's form of a route's path: `{conversation_id}` as a capture.
  public static func routerPath(_ route: HTTPRoute) -> String {
    switch route.scope {
    case .root: "/\(route.path)"
    case .conversation: "/api/conversations/:conversation_id/\(route.path)"
    }
  }

  /// The params of one call: declared query parameters (a repeated one
  /// becomes an array), then the JSON body's members for POST routes, then
  /// the conversation from the URL, which wins over anything the client put
  /// in the query or body.
  ///
  /// A body that is not an object is passed on as it is, so that the
  /// method's `decode` answers it as it would over stdio.
  public static func params(
    for route: HTTPRoute, query: [(name: String, value: String)], body: JSONValue?, conversationId: String?
  ) -> JSONValue? {
    var object = JSONObject()
    for parameter in route.query {
      let values = query.filter { $0.name == parameter.name }.map { JSONValue.string($0.value) }
      switch values.count {
      case 0: break
      case 1: object[parameter.param] = values[0]
      default: object[parameter.param] = .array(values)
      }
    }
    if route.bodyIsParams, let body {
      guard case .object(let members) = body else { return body }
      for member in members { object[member.key] = member.value }
    }
    if let conversationId { object["conversationId"] = .string(conversationId) }
    return object.count == 0 && body == nil ? nil : .object(object)
  }

  /// The status and JSON body for an error: its `data {httpStatus, body}`
  /// when it carries one (every domain error does), else a 500 in the
  /// contract's `{"error": msg}` shape.
  public static func httpError(_ error: ResponseError) -> (status: Int, body: JSONValue) {
    if let status = error.data?["httpStatus"]?.intValue, let body = error.data?["body"],
      (100...599).contains(status)
    {
      return (Int(status), body)
    }
    return (500, ["error": .string(error.message)])
  }

  // MARK: Query strings

  /// Splits a raw query string the way Starlette does (`parse_qsl` with
  /// blank values kept): `&`-separated pairs, `+` as a space, percent-escapes
  /// decoded in names and values, invalid escapes left as they are, bytes
  /// that are not UTF-8 replaced by U+FFFD.
  public static func parseQuery(_ raw: Substring?) -> [(name: String, value: String)] {
    guard let raw, !raw.isEmpty else { return [] }
    var pairs: [(name: String, value: String)] = []
    for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
      if let equals = part.firstIndex(of: "=") {
        pairs.append(
          (formDecode(part[..<equals]), formDecode(part[part.index(after: equals)...])))
      } else {
        pairs.append((formDecode(part), ""))
      }
    }
    return pairs
  }

  /// `application/x-www-form-urlencoded` decoding of one name or value.
  public static func formDecode(_ text: Substring) -> String {
    percentDecode(text, plusIsSpace: true)
  }

  /// Percent-decoding as Python's `unquote`: `%XX` becomes the byte, an
  /// invalid escape stays literal, and the bytes are read as UTF-8 with
  /// replacement.
  public static func percentDecode(_ text: Substring, plusIsSpace: Bool = false) -> String {
    let utf8 = Array(text.utf8)
    guard utf8.contains(UInt8(ascii: "%")) || (plusIsSpace && utf8.contains(UInt8(ascii: "+"))) else {
      return String(text)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(utf8.count)
    var index = 0
    while index < utf8.count {
      let byte = utf8[index]
      if byte == UInt8(ascii: "%"), index + 2 < utf8.count,
        let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
      {
        bytes.append(high << 4 | low)
        index += 3
      } else {
        bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
        index += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
