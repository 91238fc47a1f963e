import Synchronization

/// LSP's `ProgressToken`: an integer or a string.
public typealias ProgressToken = RequestID

/// LSP work-done progress on a client-supplied token: `begin`, any number of
/// `report`s (rate-limited so progress never costs more than the work), `end`.
public final class WorkDoneProgress: Sendable {
  private let token: ProgressToken
  private let sink: any NotificationSink
  private let lastReport = Mutex<ContinuousClock.Instant?>(nil)

  init(token: ProgressToken, title: String, sink: any NotificationSink) {
    self.token = token
    self.sink = sink
    send(["kind": "begin", "title": .string(title), "cancellable": true, "percentage": 0])
  }

  /// Reports at most every 50 ms unless `force` is set.
  public func report(message: String? = nil, percentage: Int? = nil, force: Bool = false) {
    let now = ContinuousClock.now
    let due = lastReport.withLock { last -> Bool in
      if !force, let last, now - last < .milliseconds(50) { return false }
      last = now
      return true
    }
    guard due else { return }
    var value: JSONObject = ["kind": "report"]
    if let message { value["message"] = .string(message) }
    if let percentage { value["percentage"] = .int(Int64(max(0, min(100, percentage)))) }
    send(.object(value))
  }

  public func end(message: String? = nil) {
    var value: JSONObject = ["kind": "end"]
    if let message { value["message"] = .string(message) }
    send(.object(value))
  }

  private func send(_ value: JSONValue) {
    sink.notify("$/progress", params: ["token": token.json, "value": value])
  }
}
