import BridgeProtocol
import JSONRPC

/// initialize, shutdown and health: answered inline, in arrival order.
enum LifecycleHandlers {
  static func register(into table: inout HandlerTable) {
    table.inline(InitializeRequest.self, initialize)
    table.inline(ShutdownRequest.self) { _, scope in
      scope.dispatcher.markShutdown()
      return .null
    }
    table.inline(HealthRequest.self) { _, _ in "OK" }
  }

  static func initialize(_ params: InitializeRequest.Params, _ scope: RequestScope) throws(ResponseError) -> JSONValue {
    let dispatcher = scope.dispatcher
    // Checked before anything changes: a second initialize must not move the
    // workspace under the first one's requests.
    guard !dispatcher.isInitialized else {
      throw ResponseError.invalidRequest("initialize may be sent only once")
    }
    if let workspace = params.workspace {
      guard let real = Conversation.realDirectory(workspace) else {
        throw BridgeError.invalidParams(
          field: "rootPath", type: "value_error", message: "Workspace is not a directory: \(workspace)",
          input: .string(workspace))
      }
      let current = dispatcher.conversations.defaultConversation
      let id = dispatcher.options.conversationId ?? Conversation.stableId(forWorkspace: real)
      dispatcher.conversations.replaceDefault(
        with: Conversation(id: id, workspace: real, runtime: current.runtime))
    }
    dispatcher.markInitialized()
    var methods = Registry.requests.map { JSONValue.string($0.method) }
    methods.append("rpc.discover")
    return [
      "serverInfo": ["name": .string(BridgeVersion.name), "version": .string(BridgeVersion.version)],
      "protocolVersion": .string(Registry.protocolVersion),
      "capabilities": [
        "methods": .array(methods),
        "framing": ["lsp", "ndjson"],
        "progress": true,
        "cancellation": true,
        "notifications": .array(ServerNotifications.all.map { .string($0.method) }),
      ],
      "conversationId": .string(dispatcher.conversations.defaultConversation.id),
    ]
  }
}
