/// A request as the connection hands it to a handler.
public struct IncomingRequest: Sendable {
  public var id: RequestID
  public var method: String
  /// Absent `params` arrive as nil; handlers treat nil like `{}`.
  public var params: JSONValue?

  public init(id: RequestID, method: String, params: JSONValue?) {
    self.id = id
    self.method = method
    self.params = params
  }
}

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

public struct DiscardingNotificationSink: NotificationSink {
  public init() {}
  public func notify(_ method: String, params: JSONValue) {}
  public var deliversNotifications: Bool { false }
}

/// Work to run once a request's reply has been handed to the writer, so
/// that what it sends (a subscription's first notification) follows the
/// reply that names it. Connections create one per request that runs as
/// work; answers made inline have none.
public final class AfterReply: Sendable {
  private let work = Mutex<[@Sendable () -> Void]>([])

  public init() {}

  public func add(_ body: @escaping @Sendable () -> Void) { work.withLock { $0.append(body) } }

  /// Runs (and forgets) what was added.
  public func run() {
    let taken = work.withLock { work -> [@Sendable () -> Void] in
      defer { work = [] }
      return work
    }
    for body in taken { body() }
  }
}

/// Where a method that makes a byte stream (zipDirectory's archive) writes
/// it as it is made, when its transport can carry one (an HTTP response
/// body). `write` returns once the bytes are taken, so a slow reader slows
/// the producer instead of growing memory; it throws when the reader has
/// gone away, which should end the work.
public protocol ByteStreamOutput: Sendable {
  func write(_ bytes: [UInt8]) async throws
}

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

import Synchronization

/// How a handler answers a request, decided on the reader thread in arrival
/// order: at once (lifecycle, trivial reads), or by work that runs
/// concurrently with everything else.
public enum Route: Sendable {
  case answer(Result<JSONValue, ResponseError>)
  case run(@Sendable (RequestContext) async throws -> JSONValue)
}

/// The domain side of a connection.
public protocol RequestHandler: Sendable {
  /// Called in arrival order; must not block.
  func route(_ request: IncomingRequest) -> Route
  /// Called in arrival order for every notification except `$/cancelRequest`,
  /// which the connection handles itself.
  func notify(method: String, params: JSONValue?)
}

extension Route {
  /// Runs the route to its reply value. Thrown `ResponseError`s become error
  /// replies, cancellation becomes -32800, anything else -32603.
  public func reply(context: RequestContext) async -> Result<JSONValue, ResponseError> {
    switch self {
    case .answer(let result):
      return result
    case .run(let work):
      do {
        return .success(try await work(context))
      } catch let error as ResponseError {
        return .failure(error)
      } catch is CancellationError {
        return .failure(.cancelled)
      } catch {
        return .failure(.internalError(String(describing: error)))
      }
    }
  }
}
