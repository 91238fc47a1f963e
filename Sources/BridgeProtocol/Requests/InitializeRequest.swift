public import JSONRPC

/// `initialize`: the LSP-style handshake. Its `rootPath`, `rootUri` or first
/// `workspaceFolders` entry names the default conversation's workspace.
public enum InitializeRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    /// The workspace named by the client, as a file system path.
    public var workspace: String?
    public var clientName: String?

    public init(workspace: String? = nil, clientName: String? = nil) {
      self.workspace = workspace
      self.clientName = clientName
    }
  }
  public struct Result: BridgeResult, Equatable {
    public var serverName: String
    public var serverVersion: String
    public var protocolVersion: String
    /// Every method served, `rpc.discover` included.
    public var methods: [String]
    /// Notifications the server may send.
    public var notifications: [String]
    /// The default conversation's id.
    public var conversationId: String

    public init(
      serverName: String, serverVersion: String, protocolVersion: String, methods: [String],
      notifications: [String], conversationId: String
    ) {
      self.serverName = serverName
      self.serverVersion = serverVersion
      self.protocolVersion = protocolVersion
      self.methods = methods
      self.notifications = notifications
      self.conversationId = conversationId
    }

    public var json: JSONValue {
      [
        "serverInfo": ["name": .string(serverName), "version": .string(serverVersion)],
        "protocolVersion": .string(protocolVersion),
        "capabilities": [
          "methods": .array(methods.map(JSONValue.string)),
          "framing": ["lsp", "ndjson"],
          "progress": true,
          "cancellation": true,
          "notifications": .array(notifications.map(JSONValue.string)),
        ],
        "conversationId": .string(conversationId),
      ]
    }

    public static let examples = [
      Result(
        serverName: "agent-bridge", serverVersion: "1.0.0", protocolVersion: Registry.protocolVersion,
        methods: Registry.requests.map { $0.method } + ["rpc.discover"], notifications: ["$/progress"],
        conversationId: "0123456789abcdef0123456789abcdef")
    ]
  }

  public static let method = "initialize"
  public static let summary = "Handshake: names the default workspace, returns server info and capabilities."
  public static let takesConversation = false

  public static let paramsSchema: JSONValue = Schema.object([
    "processId": ["type": ["integer", "null"]],
    "clientInfo": Schema.object(["name": Schema.string, "version": Schema.string]),
    "rootPath": Schema.nullableString,
    "rootUri": Schema.nullableString,
    "workspaceFolders": [
      "type": ["array", "null"],
      "items": Schema.object(["uri": Schema.string, "name": Schema.string], required: ["uri"]),
    ],
    "capabilities": Schema.any,
  ])

  public static let resultSchema: JSONValue = Schema.object(
    [
      "serverInfo": Schema.object(["name": Schema.string, "version": Schema.string], required: ["name", "version"]),
      "protocolVersion": Schema.string,
      "capabilities": Schema.object(
        [
          "methods": Schema.array(Schema.string),
          "framing": Schema.array(Schema.enumeration(["lsp", "ndjson"])),
          "progress": Schema.boolean,
          "cancellation": Schema.boolean,
          "notifications": Schema.array(Schema.string("A notification the server may send.")),
        ], required: ["methods", "framing", "progress", "cancellation", "notifications"]),
      "conversationId": Schema.string("The default conversation's id."),
    ], required: ["serverInfo", "protocolVersion", "capabilities", "conversationId"])

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    var workspace: String?
    let folders = reader["workspaceFolders"]
    if let folders, !folders.isNull, folders.arrayValue == nil {
      throw reader.wrongType("workspaceFolders", folders, "list of {uri} objects")
    }
    if let first = folders?.arrayValue?.first {
      guard case .string(let uri)? = first["uri"] else {
        throw reader.wrongType("workspaceFolders", folders!, "list of {uri} objects")
      }
      workspace = fileSystemPath(fromURI: uri)
    } else if let uri = try reader.optionalString("rootUri") {
      workspace = fileSystemPath(fromURI: uri)
    } else if let path = try reader.optionalString("rootPath") {
      workspace = path
    }
    return Params(workspace: workspace, clientName: reader["clientInfo"]?["name"]?.stringValue)
  }

  /// `file:///a%20b` -> `/a b`; anything without the scheme is taken as a path.
  public static func fileSystemPath(fromURI uri: String) -> String {
    guard uri.hasPrefix("file://") else { return uri }
    var rest = Substring(uri.dropFirst("file://".count))
    // Drop an authority (`file://localhost/x`).
    if !rest.hasPrefix("/"), let slash = rest.firstIndex(of: "/") { rest = rest[slash...] }
    return percentDecoded(String(rest))
  }

  static func percentDecoded(_ text: String) -> String {
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let byte = utf8.popFirst() {
      if byte == UInt8(ascii: "%"), utf8.count >= 2,
        let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(value)
        utf8 = utf8.dropFirst(2)
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
