import BridgeProtocol
import Git
import JSONRPC

/// openConversation, closeConversation, listConversations, workspaceInfo.
enum ConversationHandlers {
  static func register(into table: inout HandlerTable) {
    table.inline(OpenConversationRequest.self) { params, scope throws(ResponseError) in
      guard let real = Conversation.realDirectory(params.workspace) else {
        throw BridgeError.invalidParams(
          field: "workspace", type: "value_error", message: "Workspace is not a directory: \(params.workspace)",
          input: .string(params.workspace))
      }
      let id = params.conversationId ?? Conversation.stableId(forWorkspace: real)
      guard isValidId(id) else {
        throw BridgeError.invalidParams(
          field: "conversationId", type: "value_error",
          message: "Conversation ids are 1 to 100 characters of letters, digits, '-' and '_'", input: .string(id))
      }
      let store = scope.dispatcher.conversations
      if id == store.defaultConversation.id, store.defaultConversation.workspace != real {
        throw BridgeError.invalidParams(
          field: "conversationId", type: "value_error", message: "That id is the default conversation's",
          input: .string(id))
      }
      store.open(Conversation(id: id, workspace: real, runtime: scope.options.runtime))
      return OpenConversationRequest.Result(conversationId: id)
    }
    table.inline(CloseConversationRequest.self) { params, scope throws(ResponseError) in
      let store = scope.dispatcher.conversations
      if params.conversationId == store.defaultConversation.id {
        throw BridgeError.invalidParams(
          field: "conversationId", type: "value_error", message: "The default conversation cannot be closed",
          input: .string(params.conversationId))
      }
      guard store.close(params.conversationId) else {
        throw BridgeError.conversationNotFound(params.conversationId)
      }
      scope.dispatcher.subscriptions.close(conversationId: params.conversationId)
      return NullResult()
    }
    table.work(WorkspaceInfoRequest.self) { _, scope in
      let conversation = scope.conversation
      // A probe of the file system: `async` so it runs off the reader.
      return WorkspaceInfoRequest.Result(
        conversationId: conversation.id, workspace: conversation.workspace,
        gitRepository: conversation.git.consultsRepository())
    }
    table.inline(ListConversationsRequest.self) { _, scope in
      ListConversationsRequest.Result(
        conversations: scope.dispatcher.conversations.all.map { .init(conversationId: $0.id, workspace: $0.workspace) })
    }
  }

  /// Ids end up in URLs and file names; keep them to a safe alphabet, as
  /// OpenHands' `validate_conversation_id` does.
  static func isValidId(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 100
      && id.utf8.allSatisfy { byte in
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
          UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
          true
        default: false
        }
      }
  }
}
