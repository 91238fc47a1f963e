import Support
import Dispatch
import Synchronization

/// A JSON-RPC 2.0 server connection over a pair of file descriptors.
///
/// One thread reads: it parses frames out of 64 KiB reads, answers protocol
/// errors, handles `$/cancelRequest` itself (so a cancel overtakes the work it
/// cancels), hands notifications to the handler in order and routes each
/// request. Routed work runs in its own task, so replies may overtake each
/// other; every request gets exactly one reply, and the writer sends it in
/// the framing of the message it answers.
public final class Connection: NotificationSink, Sendable {
  public struct Options: Sendable {
    public static let defaultMaxBatchLength = 1024
    public static let defaultMaxInFlight = 1024

    public var maxMessageBytes: Int
    public var forcedFraming: Framing?
    public var readChunkBytes: Int
    /// Longest batch (array) accepted; a longer one is one -32600 with id
    /// null, and none of its requests run.
    public var maxBatchLength: Int
    /// Requests whose work may run at once. Past it a request is answered
    /// -32600 at once (inline answers, which hold nothing, still run): the
    /// reader must not block, and unbounded work would exhaust memory and
    /// file descriptors long before a client noticed.
    public var maxInFlight: Int
    /// Replies written but not yet read by the client, past which the
    /// reader stops reading requests until the client catches up.
    public var maxOutputBacklogBytes: Int
    /// Builds the errors the connection answers by itself.
    public var errors: ProtocolErrors
    /// What sets each limit (a command-line option, say), named in the error
    /// for a message over it; nil names nothing.
    public var limitSettings: LimitSettings

    public init(
      maxMessageBytes: Int = 64 << 20, forcedFraming: Framing? = nil, readChunkBytes: Int = 64 * 1024,
      maxBatchLength: Int = defaultMaxBatchLength, maxInFlight: Int = defaultMaxInFlight,
      maxOutputBacklogBytes: Int = 64 << 20, errors: ProtocolErrors = .plain,
      limitSettings: LimitSettings = LimitSettings()
    ) {
      self.maxMessageBytes = maxMessageBytes
      self.forcedFraming = forcedFraming
      self.readChunkBytes = readChunkBytes
      self.maxBatchLength = maxBatchLength
      self.maxInFlight = maxInFlight
      self.maxOutputBacklogBytes = maxOutputBacklogBytes
      self.errors = errors
      self.limitSettings = limitSettings
    }
  }

  private struct InFlight {
    var task: Task<Void, Never>?
  }

  private let input: Int32
  public let writer: MessageWriter
  private let options: Options
  private let rules: ReplyRules
  private let handler: Mutex<(any RequestHandler)?> = Mutex(nil)
  private let inFlight = Mutex<[RequestID: InFlight]>([:])
  private let running = DispatchGroup()
  private let lastFraming: Atomic<UInt8>

  public init(input: Int32, writer: MessageWriter, options: Options = Options()) {
    self.input = input
    self.writer = writer
    self.options = options
    self.rules = ReplyRules(errors: options.errors, batchLimitSetting: options.limitSettings.maxBatchLength)
    self.lastFraming = Atomic(options.forcedFraming == .ndjson ? 1 : 0)
  }

  /// The framing server-initiated messages use: the last one received.
  public var currentFraming: Framing {
    options.forcedFraming ?? (lastFraming.load(ordering: .relaxed) == 1 ? .ndjson : .lsp)
  }

  /// Sends a notification to the client.
  public func notify(_ method: String, params: JSONValue) {
    writer.send(Reply.notification(method, params: params), framing: currentFraming)
  }

  public var backlogBytes: Int { writer.backlogBytes }

  /// Reads until end of input, then waits for the requests in flight and
  /// flushes their replies. Blocks the calling thread for the connection's
  /// life, so only `serve` calls it, on a thread of its own.
  private func run(handler: any RequestHandler) {
    self.handler.withLock { $0 = handler }
    var parser = FrameParser(maxMessageBytes: options.maxMessageBytes, forcedFraming: options.forcedFraming)
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: options.readChunkBytes, alignment: 16)
    defer { chunk.deallocate() }
    reading: while true {
      // A client that does not read its replies is not read from either:
      // otherwise every request it sends grows the writer's backlog.
      writer.waitForBacklog(atMost: options.maxOutputBacklogBytes)
      let count = retryOnInterrupt { read(input, chunk.baseAddress, chunk.count) }
      if count < 0 {
        switch errno {
        case EAGAIN, EWOULDBLOCK:
          // Someone made the shared stdin non-blocking; wait rather than
          // mistake it for the end of input.
          waitUntilReady(input, for: POLLIN)
          continue
        default:
          break reading
        }
      }
      if count == 0 { break reading }
      parser.append(UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
      writer.cork()
      while parser.withNext({ receive($0, handler: handler) }) != nil {}
      writer.uncork()
    }
    if let event = parser.finish() { LentFrameEvent.lending(event) { receive($0, handler: handler) } }
    running.wait()
    writer.flush()
  }

  /// Reads until end of input, then waits for the requests in flight and
  /// flushes their replies. The reading blocks in read(2), so it runs on a
  /// thread of its own (see `ReaderThread`), never on the caller's: that is
  /// one of the cooperative pool's, where requests' child tasks run.
  public func serve(handler: any RequestHandler) async {
    await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
      ReaderThread.start {
        self.run(handler: handler)
        finished.resume()
      }
    }
  }

  // MARK: Receiving

  private func receive(_ event: LentFrameEvent, handler: any RequestHandler) {
    switch event {
    case .malformed(let reason, let detected):
      let framing = options.forcedFraming ?? detected
      note(framing)
      writer.send(Reply.error(options.errors.parseError("Parse error: \(reason)"), id: nil), framing: framing)
    case .oversized(let length, let detected):
      let framing = options.forcedFraming ?? detected
      note(framing)
      let size = length.map { "\($0) bytes" } ?? "a message"
      let error = options.errors.invalidRequest(
        "Message too large: \(size) is over the \(options.maxMessageBytes)-byte limit"
          + Options.LimitSettings.named(options.limitSettings.maxMessageBytes))
      writer.send(Reply.error(error, id: nil), framing: framing)
    case .message(let body, let detected):
      let framing = options.forcedFraming ?? detected
      note(framing)
      let parsed = rules.parseIncoming(body, maxBatchLength: options.maxBatchLength)
      guard case .success(let incoming) = parsed else {
        if case .failure(let error) = parsed { writer.send(Reply.error(error, id: nil), framing: framing) }
        return
      }
      switch incoming {
      case .single(let message): receiveSingle(message, framing: framing, handler: handler)
      case .batch(let messages): receiveBatch(messages, framing: framing, handler: handler)
      case .emptyBatch: writer.send(rules.emptyBatchReply, framing: framing)
      }
    }
  }

  private func note(_ framing: Framing) {
    lastFraming.store(framing == .ndjson ? 1 : 0, ordering: .relaxed)
  }

  private func receiveSingle(_ message: Message, framing: Framing, handler: any RequestHandler) {
    switch message {
    case .request(let id, let method, let params):
      start(IncomingRequest(id: id, method: method, params: params), handler: handler, replyTo: .single(framing))
    case .notification(let method, let params):
      receiveNotification(method: method, params: params, handler: handler)
    case .response:
      break  // The bridge sends no requests; a stray response has nothing to match.
    case .invalid(let id, let reason):
      writer.send(rules.invalid(reason, id: id), framing: framing)
    }
  }

  private func receiveBatch(_ messages: [Message], framing: Framing, handler: any RequestHandler) {
    let expected = messages.count(where: ReplyRules.expectsReply)
    let batch = BatchCollector(expected: expected) { replies in
      self.writer.send(.array(replies), framing: framing)
    }
    let share = ReplyShare()
    for message in messages {
      switch message {
      case .request(let id, let method, let params):
        start(
          IncomingRequest(id: id, method: method, params: params), handler: handler, share: share,
          replyTo: .batch(batch))
      case .notification(let method, let params):
        receiveNotification(method: method, params: params, handler: handler)
      case .response:
        break
      case .invalid(let id, let reason):
        batch.add(rules.invalid(reason, id: id))
      }
    }
  }

  private func receiveNotification(method: String, params: JSONValue?, handler: any RequestHandler) {
    if method == "$/cancelRequest" {
      if let raw = params?["id"], let id = RequestID(raw) { cancel(id) }
      return
    }
    handler.notify(method: method, params: params)
  }

  /// Cancels a request in flight; a late cancel for a finished one is a no-op.
  public func cancel(_ id: RequestID) {
    let task = inFlight.withLock { $0[id]?.task }
    task?.cancel()
  }

  /// Registers, routes and (for work) starts one request, whose response
  /// goes to `target` exactly once.
  ///
  /// Only the reader thread adds to the in-flight table, so checking for a
  /// duplicate and inserting need not be one atomic step; tasks only remove.
  /// Requests answered inline never enter the table.
  private func start(
    _ request: IncomingRequest,
    handler: any RequestHandler,
    share: ReplyShare? = nil,
    replyTo target: ReplyTarget
  ) {
    let duplicate = inFlight.withLock { !$0.isEmpty && $0[request.id] != nil }
    if duplicate {
      respond(.failure(rules.duplicateError(request.id)), id: request.id, to: target)
      return
    }
    let route = handler.route(request)
    if case .answer(let result) = route {
      respond(result, id: request.id, to: target)
      return
    }
    let inFlightNow = inFlight.withLock { $0.count }
    if inFlightNow >= options.maxInFlight {
      let error = options.errors.invalidRequest(
        "Invalid request: \(inFlightNow) requests are already in flight, the limit"
          + Options.LimitSettings.named(options.limitSettings.maxInFlight) + "; wait for replies before sending more")
      respond(.failure(error), id: request.id, to: target)
      return
    }
    let afterReply = AfterReply()
    let context = RequestContext(request: request, notifications: self, replyShare: share, afterReply: afterReply)
    running.enter()
    inFlight.withLock { table in
      // Created under the lock so that the task cannot finish (and remove
      // its entry) before the entry exists.
      table[request.id] = InFlight(
        task: Task {
          var result = await route.reply(context: context, errors: self.options.errors)
          // A cancelled request answers -32800 even if its work got to the
          // end regardless: the client has stopped waiting for the result.
          if Task.isCancelled, case .success = result { result = .failure(.cancelled) }
          self.inFlight.withLock { _ = $0.removeValue(forKey: request.id) }
          // In a batch the reply leaves with the last of its requests.
          if case .batch(let batch) = target { batch.runAfterSending(afterReply) }
          self.respond(result, id: request.id, to: target)
          if case .single = target { afterReply.run() }
          self.running.leave()
        })
    }
  }

  /// Where a request's response goes: written alone in the framing of the
  /// message it answers, or into its batch's reply.
  enum ReplyTarget: Sendable {
    case single(Framing)
    case batch(BatchCollector)
  }

  private func respond(_ outcome: Result<JSONValue, ResponseError>, id: RequestID, to target: ReplyTarget) {
    switch target {
    case .single(let framing): writer.sendResponse(outcome, id: id, framing: framing)
    case .batch(let batch): batch.add(ReplyRules.response(outcome, id: id))
    }
  }
}

/// Gathers the replies of one batch and sends them as one array when the
/// last arrives. A batch of notifications only sends nothing.
final class BatchCollector: Sendable {
  private let state: Mutex<(replies: [JSONValue], remaining: Int, after: [AfterReply])>
  private let send: @Sendable ([JSONValue]) -> Void

  init(expected: Int, send: @escaping @Sendable ([JSONValue]) -> Void) {
    state = Mutex((replies: [], remaining: expected, after: []))
    self.send = send
  }

  /// Runs `work` once the batch's reply has been sent.
  func runAfterSending(_ work: AfterReply) { state.withLock { $0.after.append(work) } }

  @Sendable func add(_ reply: JSONValue) {
    let done = state.withLock { state -> (replies: [JSONValue], after: [AfterReply])? in
      state.replies.append(reply)
      state.remaining -= 1
      return state.remaining == 0 ? (state.replies, state.after) : nil
    }
    if let done {
      send(done.replies)
      for work in done.after { work.run() }
    }
  }
}
