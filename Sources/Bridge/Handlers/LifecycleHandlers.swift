import BridgeProtocol
import JSONRPC

/// initialize, shutdown and health: answered inline, in arrival order.
enum LifecycleHandlers {
  static func register(into table: inout HandlerTable) {
    table.inline(InitializeRequest.self, initialize)
    table.inline(ShutdownRequest.self) { _, scope in
      scope.dispatcher.markShutdown()
      return NullResult()
    }
    table.constant(HealthRequest.self) { _ in HealthRequest.Result() }
  }

  static func initialize(
    _ params: InitializeRequest.Params, _ scope: HandlerScope
  ) throws(ResponseError) -> InitializeRequest.Result {
    let dispatcher = scope.dispatcher
    // Checked before anything changes: a second initialize must not move the
    // workspace under the first one's requests.
    guard !dispatcher.isInitialized else {
      throw BridgeError.invalidRequest("initialize may be sent only once")
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
      // The old default's watcher watches the old workspace: what its
      // subscribers and its gitChanges would see is no longer this
      // conversation's (as closeConversation would).
      if id != current.id || real != current.workspace {
        dispatcher.subscriptions.close(conversationId: current.id)
      }
    }
    dispatcher.markInitialized()
    return InitializeRequest.Result(
      serverName: BridgeVersion.name, serverVersion: BridgeVersion.version, protocolVersion: Registry.protocolVersion,
      methods: Registry.requests.map { $0.method } + ["rpc.discover"],
      notifications: ServerNotifications.all.map(\.method),
      conversationId: dispatcher.conversations.defaultConversation.id)
  }
}
