/// What a running request can see and do besides computing its result.
public struct RequestContext: Sendable {
  public var request: IncomingRequest
  public var notifications: any NotificationSink
  /// Set by transports that stream bytes (HTTP): a method that makes bytes
  /// writes them here and returns only a summary. Nil over stdio, where
  /// results are JSON.
  public var output: (any ByteStreamOutput)?
  /// Shared by the requests whose results go into the same reply (a
  /// batch); nil for a request answered alone, so that the common case
  /// allocates nothing.
  public var replyShare: ReplyShare?
  /// Runs after the reply is queued; nil where the door has no such moment
  /// (HTTP, `call`: they carry no notifications either).
  public var afterReply: AfterReply?

  public init(
    request: IncomingRequest, notifications: any NotificationSink = DiscardingNotificationSink(),
    output: (any ByteStreamOutput)? = nil, replyShare: ReplyShare? = nil, afterReply: AfterReply? = nil
  ) {
    self.request = request
    self.notifications = notifications
    self.output = output
    self.replyShare = replyShare
    self.afterReply = afterReply
  }

  public var id: RequestID { request.id }
  public var method: String { request.method }
  public var params: JSONValue? { request.params }

  /// A progress reporter when the client sent `workDoneToken`, else nil.
  public func workDoneProgress(title: String) -> WorkDoneProgress? {
    guard let raw = params?["workDoneToken"], let token = ProgressToken(raw) else { return nil }
    return WorkDoneProgress(token: token, title: title, sink: notifications)
  }
}
