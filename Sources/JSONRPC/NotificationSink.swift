/// Where server-initiated notifications (progress, log messages) go. Over
/// stdio that is the connection; over HTTP, nowhere.
public protocol NotificationSink: Sendable {
  func notify(_ method: String, params: JSONValue)
  /// Whether notifications reach a client at all: false where there is no
  /// channel to push on (an HTTP request, a one-shot `call`), so that a
  /// method whose whole point is notifications can refuse.
  var deliversNotifications: Bool { get }
  /// Bytes sent but not yet read by the client, so that a subscription
  /// whose client stopped reading can be dropped instead of growing memory.
  var backlogBytes: Int { get }
  /// A subscription sending here was dropped (its client left too much
  /// unread): a sink that exists only for it (an HTTP event stream) ends.
  func subscriptionDropped(_ id: String)
}

extension NotificationSink {
  public var deliversNotifications: Bool { true }
  public var backlogBytes: Int { 0 }
  public func subscriptionDropped(_ id: String) {}
}
