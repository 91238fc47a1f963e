public struct DiscardingNotificationSink: NotificationSink {
  public init() {}
  public func notify(_ method: String, params: JSONValue) {}
  public var deliversNotifications: Bool { false }
}
