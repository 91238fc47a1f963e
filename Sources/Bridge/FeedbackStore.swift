import Crypto
import Support
import BridgeProtocol
import JSONRPC
import Workspace

/// Where submitFeedback records live: `<state dir>/feedback.jsonl`, one JSON
/// object per line, appended durably (see `AppendOnlyLog`). Deliveries to
/// `--feedback-url` are marked in `<state dir>/feedback-delivered.jsonl`, so a
/// restarted process forwards only what was not delivered yet.
///
/// Several processes may share a state directory (every editor window spawns
/// its own bridge): appends are single `O_APPEND` writes, so their lines never
/// interleave.
///
/// The directory is always absolute: a relative one would resolve against
/// the current directory, which may be the workspace an agent writes. With
/// none (no `--state-dir`, `HOME` unset), the process still serves
/// everything else and feedback answers an error naming `--state-dir`.
public final class FeedbackStore: Sendable {
  public let directory: String
  public var recordsPath: String { records.path }
  public var deliveriesPath: String { deliveries.path }

  private let records: AppendOnlyLog
  private let deliveries: AppendOnlyLog
  /// Why there is no usable directory, when there is none.
  private let unavailable: String?

  /// Nothing touches the disk until the first append. `directory` nil
  /// means none could be found (see `defaultDirectory()`).
  public init(directory: String?) {
    if let directory, directory.hasPrefix("/") {
      unavailable = nil
    } else if let directory {
      unavailable = "the state directory must be an absolute path, not '\(directory)'; pass an absolute --state-dir"
    } else {
      unavailable =
        "no state directory: HOME is not set and XDG_STATE_HOME is not an absolute path; pass --state-dir DIR"
    }
    self.directory = unavailable == nil ? directory! : ""
    records = AppendOnlyLog(directory: self.directory, name: "feedback.jsonl")
    deliveries = AppendOnlyLog(directory: self.directory, name: "feedback-delivered.jsonl")
  }

  /// `$XDG_STATE_HOME/agent-bridge`, else `$HOME/.local/state/agent-bridge`,
  /// else nil. A relative XDG_STATE_HOME is ignored, as the XDG spec
  /// requires, and so is a relative HOME.
  public static func defaultDirectory() -> String? {
    if let state = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), state.hasPrefix("/") {
      return state + "/agent-bridge"
    }
    guard let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") else { return nil }
    return home + "/.local/state/agent-bridge"
  }

  private func checkAvailable() throws(ResponseError) {
    if let unavailable { throw BridgeError.internalError("Failed to submit feedback: \(unavailable)") }
  }

  /// The record a submission is stored as. The password itself is not
  /// kept: only the client needs it; its SHA-256 lets it be checked later.
  public static func record(
    _ params: SubmitFeedbackRequest.Params, id: String, password: String, conversationId: String,
    createdAt: String = timestamp()
  ) -> JSONValue {
    [
      "feedback_id": .string(id),
      "conversation_id": .string(conversationId),
      "created_at": .string(createdAt),
      "email": .string(params.email),
      "version": .string(params.version),
      "permissions": .string(params.permissions),
      "polarity": .string(params.polarity),
      "feedback": .string(params.feedback),
      "trajectory": params.trajectory,
      "password_sha256": .string(Hex.lowercase(SHA256.hash(data: Array(password.utf8)))),
    ]
  }

  /// Appends one record; returns once it is on disk (fsync'ed).
  public func append(_ record: JSONValue) async throws(ResponseError) {
    try checkAvailable()
    if case .failure(let error) = await records.append(record) {
      throw BridgeError.internalError("Failed to submit feedback: \(error.summary)")
    }
  }

  /// Every whole record, oldest first, and how many torn lines were skipped.
  public func readRecords() throws(ResponseError) -> (records: [JSONValue], skipped: Int) {
    if let unavailable { throw BridgeError.internalError(unavailable) }
    switch records.readValues() {
    case .success(let read):
      // A line that parses but is not a record (no id) counts as skipped.
      let whole = read.values.filter { $0["feedback_id"]?.stringValue != nil }
      return (whole, read.skipped + read.values.count - whole.count)
    case .failure(let error):
      throw BridgeError.internalError(error.description)
    }
  }

  /// What happened to each forwarded record, by id: the last mark wins.
  public func readDeliveries() throws(ResponseError) -> [String: Delivery] {
    if let unavailable { throw BridgeError.internalError(unavailable) }
    switch deliveries.readValues() {
    case .success(let read):
      var marks: [String: Delivery] = [:]
      for value in read.values {
        if let mark = Delivery(value) { marks[mark.feedbackId] = mark }
      }
      return marks
    case .failure(let error):
      throw BridgeError.internalError(error.description)
    }
  }

  /// Records not yet delivered nor rejected, oldest first.
  public func undelivered() throws(ResponseError) -> [JSONValue] {
    let marks = try readDeliveries()
    return try readRecords().records.filter { record in
      marks[record["feedback_id"]?.stringValue ?? ""] == nil
    }
  }

  /// Marks a record as handled by the feedback URL.
  public func mark(_ delivery: Delivery) async throws(ResponseError) {
    if let unavailable { throw BridgeError.internalError(unavailable) }
    if case .failure(let error) = await deliveries.append(delivery.json) {
      throw BridgeError.internalError(error.description)
    }
  }

  /// One line of the deliveries file.
  public struct Delivery: Sendable, Equatable {
    public enum Outcome: String, Sendable {
      /// The URL answered 2xx.
      case delivered
      /// The URL answered a 4xx that retrying cannot fix; not retried.
      case rejected
    }
    public var feedbackId: String
    public var outcome: Outcome
    public var httpStatus: Int
    public var at: String

    public init(feedbackId: String, outcome: Outcome, httpStatus: Int, at: String = FeedbackStore.timestamp()) {
      self.feedbackId = feedbackId
      self.outcome = outcome
      self.httpStatus = httpStatus
      self.at = at
    }

    init?(_ value: JSONValue) {
      guard let id = value["feedback_id"]?.stringValue,
        let outcome = value["outcome"]?.stringValue.flatMap(Outcome.init(rawValue:))
      else { return nil }
      self.init(
        feedbackId: id, outcome: outcome, httpStatus: Int(value["status"]?.intValue ?? 0),
        at: value["at"]?.stringValue ?? "")
    }

    var json: JSONValue {
      [
        "feedback_id": .string(feedbackId), "outcome": .string(outcome.rawValue),
        "status": .int(Int64(httpStatus)), "at": .string(at),
      ]
    }
  }

  // MARK: Ids and times

  /// 32 lowercase hex digits from the system's CSPRNG (getrandom(2) on
  /// Linux), shaped like OpenHands' feedback ids.
  public static func randomHex() -> String {
    var generator = SystemRandomNumberGenerator()
    let high = generator.next()
    let low = generator.next()
    return hex64(high) + hex64(low)
  }

  private static func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  /// Now, as ISO 8601 UTC with milliseconds: `2025-11-28T09:14:03.512Z`.
  public static func timestamp() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ value: Int32, _ width: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
      + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
      + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
  }
}
