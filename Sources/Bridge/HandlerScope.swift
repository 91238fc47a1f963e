import JSONRPC

/// What a handler sees: the conversation it works on, the request (for
/// progress and cancellation) and the process options.
public struct HandlerScope: Sendable {
  public var conversation: Conversation
  public var context: RequestContext
  public var dispatcher: Dispatcher

  /// Read through the dispatcher rather than held: a copy of the options in
  /// every scope was most of what routing a trivial request cost.
  public var options: BridgeOptions { dispatcher.options }
}
