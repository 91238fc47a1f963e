import JSONRPC

/// What a handler sees: the conversation it works on, the request (for
/// progress and cancellation) and the process options.
public struct HandlerScope: Sendable {
  public var conversation: Conversation
  public var context: RequestContext
  public var options: BridgeOptions
  public var dispatcher: Dispatcher
}
