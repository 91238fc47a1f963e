/// A request id, echoed back with its JSON type kept (`"1"` is not `1`).
public enum RequestID: Hashable, Sendable, CustomStringConvertible {
  case number(Int64)
  case string(String)

  public init?(_ json: JSONValue) {
    switch json {
    case .int(let i): self = .number(i)
    case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: self = .number(Int64(d))
    case .string(let s): self = .string(s)
    default: return nil
    }
  }

  public var json: JSONValue {
    switch self {
    case .number(let n): .int(n)
    case .string(let s): .string(s)
    }
  }

  public var description: String {
    switch self {
    case .number(let n): String(n)
    case .string(let s): "\"\(s)\""
    }
  }
}

/// JSON-RPC and LSP error codes shared by every JSON-RPC peer. Domain codes
/// live with the domain (BridgeProtocol).
public struct ErrorCode: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  public static let parseError = ErrorCode(rawValue: -32700)
  public static let invalidRequest = ErrorCode(rawValue: -32600)
  public static let methodNotFound = ErrorCode(rawValue: -32601)
  public static let invalidParams = ErrorCode(rawValue: -32602)
  public static let internalError = ErrorCode(rawValue: -32603)
  public static let serverNotInitialized = ErrorCode(rawValue: -32002)
  public static let requestCancelled = ErrorCode(rawValue: -32800)
}

/// The `error` member of a response.
public struct ResponseError: Error, Sendable, Equatable, CustomStringConvertible {
  public var code: ErrorCode
  public var message: String
  public var data: JSONValue?

  public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
    self.code = code
    self.message = message
    self.data = data
  }

  public var json: JSONValue {
    var object: JSONObject = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
    if let data { object["data"] = data }
    return .object(object)
  }

  public var description: String { "\(code.rawValue): \(message)" }

  public static let cancelled = ResponseError(code: .requestCancelled, message: "Request cancelled")
}

/// One decoded element of the stream (or of a batch).
public enum Message: Sendable {
  case request(id: RequestID, method: String, params: JSONValue?)
  case notification(method: String, params: JSONValue?)
  /// A response from the client. The bridge sends no requests, so these are
  /// logged and dropped.
  case response(id: RequestID?)
  /// Not a valid request object; the id is what could be recovered of it.
  case invalid(id: RequestID?, reason: String)

  /// Classifies one JSON value per JSON-RPC 2.0 section 4.
  public init(_ json: JSONValue) {
    guard case .object(let object) = json else {
      self = .invalid(id: nil, reason: "a request must be an object, got \(json.typeName)")
      return
    }
    self.init(
      MessageFields(
        id: object["id"], jsonrpc: object["jsonrpc"], method: object["method"], params: object["params"],
        hasResultOrError: object["result"] != nil || object["error"] != nil))
  }

  /// Classifies an object from the members that decide what it is, however
  /// they were read (from a tree, or straight from the bytes).
  init(_ fields: MessageFields) {
    let rawID = fields.id
    let id = rawID.flatMap(RequestID.init)
    guard fields.jsonrpc == .string("2.0") else {
      self = .invalid(id: id, reason: "\"jsonrpc\" must be \"2.0\"")
      return
    }
    let method = fields.method
    if method == nil, fields.hasResultOrError {
      self = .response(id: id)
      return
    }
    guard case .string(let method)? = method else {
      self = .invalid(id: id, reason: "\"method\" must be a string")
      return
    }
    let params = fields.params
    if let params, !params.isNull, params.objectValue == nil, params.arrayValue == nil {
      self = .invalid(id: id, reason: "\"params\" must be an object or an array")
      return
    }
    if rawID == nil {
      self = .notification(method: method, params: params)
    } else if let id {
      self = .request(id: id, method: method, params: params)
    } else {
      // A null id is legal JSON-RPC but cannot be matched; LSP forbids it.
      self = .invalid(id: nil, reason: "\"id\" must be a number or a string")
    }
  }
}

/// The members of a message object that `Message` looks at; each is the
/// last member of that name, as `JSONObject`'s subscript finds it.
struct MessageFields {
  var id: JSONValue?
  var jsonrpc: JSONValue?
  var method: JSONValue?
  var params: JSONValue?
  var hasResultOrError = false
}

/// Builders for the replies the server writes.
public enum Reply {
  public static func result(_ result: JSONValue, id: RequestID?) -> JSONValue {
    .object(["jsonrpc": "2.0", "id": id?.json ?? .null, "result": result])
  }

  public static func error(_ error: ResponseError, id: RequestID?) -> JSONValue {
    .object(["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json])
  }

  /// The response to request `id` as bytes, written as `JSONWriter` writes
  /// `ReplyRules.response(outcome, id: id)`: the envelope is constant, so only
  /// the id and the result are encoded.
  public static func encodedResponse(_ outcome: Result<JSONValue, ResponseError>, id: RequestID) -> [UInt8] {
    var writer = JSONWriter(reservingCapacity: 128)
    writer.append(#"{"jsonrpc":"2.0","id":"#)
    switch id {
    case .number(let number): writer.write(.int(number))
    case .string(let string): writer.writeString(string)
    }
    switch outcome {
    case .success(let result):
      writer.append(#","result":"#)
      writer.write(result)
    case .failure(let error):
      writer.append(#","error":"#)
      writer.write(error.json)
    }
    writer.append("}")
    return writer.bytes
  }

  public static func notification(_ method: String, params: JSONValue) -> JSONValue {
    .object(["jsonrpc": "2.0", "method": .string(method), "params": params])
  }
}
