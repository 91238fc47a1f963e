import BridgeProtocol
import JSONRPC

/// subscribe and unsubscribe: workspace changes pushed as notifications.
enum SubscriptionHandlers {
  static func register(into table: inout HandlerTable) {
    table.work(SubscribeRequest.self) { params, scope in
      let context = scope.context
      guard context.notifications.deliversNotifications else {
        throw BridgeError.invalidRequest(
          "subscribe needs a connection that carries notifications (stdio); this one has no channel to push on")
      }
      let hub = scope.dispatcher.subscriptions
      let id = try hub.subscribe(scope.conversation, events: params.events, sink: context.notifications)
      if params.events.contains(.git) {
        try Task.checkCancellation()
        if let changes = hub.gitChanges(scope.conversation) { hub.setInitialGit(id, changes) }
      }
      if Task.isCancelled {
        _ = hub.unsubscribe(id)
        throw CancellationError()
      }
      // What it is sent waits for the reply that names it.
      if let afterReply = context.afterReply {
        afterReply.add { hub.activate(id) }
      } else {
        hub.activate(id)
      }
      return SubscribeRequest.Result(subscriptionId: id, state: hub.reportedState(conversationId: scope.conversation.id))
    }

    table.inline(UnsubscribeRequest.self) { params, scope throws(ResponseError) in
      guard scope.dispatcher.subscriptions.unsubscribe(params.subscriptionId) else {
        throw BridgeError.invalidParams(
          field: "subscriptionId", type: "value_error", message: "No such subscription",
          input: .string(params.subscriptionId))
      }
      return NullResult()
    }
  }
}
