extension Connection.Options {
  /// What sets each of the connection's limits (a command-line option,
  /// say), named in the error for a message over it; nil names nothing.
  public struct LimitSettings: Sendable {
    public var maxMessageBytes: String?
    public var maxBatchLength: String?
    public var maxInFlight: String?

    public init(maxMessageBytes: String? = nil, maxBatchLength: String? = nil, maxInFlight: String? = nil) {
      self.maxMessageBytes = maxMessageBytes
      self.maxBatchLength = maxBatchLength
      self.maxInFlight = maxInFlight
    }

    static func named(_ setting: String?) -> String { setting.map { " (\($0))" } ?? "" }
    }
}
