import BridgeProtocol
import JSONRPC

/// submitFeedback: validated by the request type, stored durably, then
/// forwarded in the background when `--feedback-url` is set.
enum FeedbackHandlers {
  static func register(into table: inout HandlerTable) {
    table.work(SubmitFeedbackRequest.self) { params, scope in
      let id = FeedbackStore.randomHex()
      let password = FeedbackStore.randomHex()
      let record = FeedbackStore.record(params, id: id, password: password, conversationId: scope.conversation.id)
      // The reply waits for the fsync: an acknowledged record is on disk.
      try await scope.dispatcher.feedback.append(record)
      scope.dispatcher.feedbackForwarder?.recordAppended()
      return SubmitFeedbackRequest.Result(feedbackId: id, password: password)
    }
  }
}
