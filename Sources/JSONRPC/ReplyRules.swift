/// The JSON-RPC 2.0 rules for answering one received value, a single message
/// or a batch, shared by every transport: stdio's `Connection` and the HTTP
/// adapter's `POST /api/jsonrpc`.
///
/// - A batch is an array: one array reply, nothing for notifications, and
///   -32600 (id null) for an empty array.
/// - An element that is not a valid request is answered -32600 with what
///   could be recovered of its id.
/// - A response from the peer is dropped (the bridge sends no requests).
public struct ReplyRules: Sendable {
  /// Builds the errors these rules answer with.
  public var errors: ProtocolErrors
  /// What sets the batch limit (a command-line option, say), named in the
  /// error for a batch over it; nil names nothing.
  public var batchLimitSetting: String?

  public init(errors: ProtocolErrors, batchLimitSetting: String? = nil) {
    self.errors = errors
    self.batchLimitSetting = batchLimitSetting
  }

  /// What one received JSON value is.
  public enum Incoming: Sendable {
    case single(Message)
    case batch([Message])
    case emptyBatch
  }

  public static func classify(_ json: JSONValue) -> Incoming {
    guard case .array(let elements) = json else { return .single(Message(json)) }
    if elements.isEmpty { return .emptyBatch }
    return .batch(elements.map(Message.init))
  }

  /// The reply to a message that is not a valid request.
  public func invalid(_ reason: String, id: RequestID?) -> JSONValue {
    Reply.error(errors.invalidRequest("Invalid request: \(reason)"), id: id)
  }

  /// The reply to `[]`.
  public var emptyBatchReply: JSONValue { Reply.error(errors.invalidRequest("Invalid request: empty batch"), id: nil) }

  /// Parses one received message as every transport must: a batch is
  /// counted against `maxBatchLength` while it is read, never after its
  /// elements exist, and the tree may take at most twice the message's size
  /// plus 1 MiB (`JSONParser.Limits.message`). The failure is the error to
  /// answer with id null.
  public func parse(
    _ bytes: UnsafeRawBufferPointer, maxBatchLength: Int, parseErrorPrefix: String = "Parse error: "
  ) -> Result<JSONValue, ResponseError> {
    let limits = JSONParser.Limits.message(byteCount: bytes.count, maxBatchLength: maxBatchLength)
    do {
      return .success(try JSONParser.parse(bytes, limits: limits))
    } catch {
      switch error.kind {
      case .tooManyElements: return .failure(batchTooLong(limit: maxBatchLength))
      case .tooLarge:
        return .failure(
          errors.invalidRequest(
            "Invalid request: the message's \(bytes.count) bytes would take over \(limits.maxTreeBytes) bytes"
              + " of memory once parsed (twice its size plus 1 MiB); send fewer, larger values"))
      case .syntax, .invalidUTF8, .tooDeep: return .failure(errors.parseError(parseErrorPrefix + "\(error)"))
      }
    }
  }

  /// `parse` then `classify`, as one step: a text that is one valid object
  /// is read straight into its message, without building its tree; any
  /// other text (a batch, or one that fails) goes the way of `parse`, which
  /// answers exactly as before, errors included.
  public func parseIncoming(
    _ bytes: UnsafeRawBufferPointer, maxBatchLength: Int, parseErrorPrefix: String = "Parse error: "
  ) -> Result<Incoming, ResponseError> {
    let limits = JSONParser.Limits.message(byteCount: bytes.count, maxBatchLength: maxBatchLength)
    if let fields = try? JSONParser.messageFields(bytes, limits: limits) {
      return .success(.single(Message(fields)))
    }
    return parse(bytes, maxBatchLength: maxBatchLength, parseErrorPrefix: parseErrorPrefix).map(Self.classify)
  }

  /// The error for a batch longer than a transport's limit: one error for
  /// the whole batch, none of which runs. Counting stops at the first
  /// element over, so the batch's length is not known.
  public func batchTooLong(limit: Int) -> ResponseError {
    errors.invalidRequest(
      "Invalid request: a batch of more than \(limit) messages is over the \(limit)-message limit"
        + (batchLimitSetting.map { " (\($0))" } ?? "") + "; send it in smaller batches")
  }

  /// The reply to a request whose id is already in use.
  public func duplicate(_ id: RequestID) -> JSONValue {
    Reply.error(duplicateError(id), id: id)
  }

  public func duplicateError(_ id: RequestID) -> ResponseError {
    errors.invalidRequest("Invalid request: id \(id) is already in flight")
  }

  /// Whether a message gets an entry in a batch reply.
  public static func expectsReply(_ message: Message) -> Bool {
    switch message {
    case .request, .invalid: true
    case .notification, .response: false
    }
  }

  /// The whole response message for a request's outcome.
  public static func response(_ result: Result<JSONValue, ResponseError>, id: RequestID) -> JSONValue {
    switch result {
    case .success(let value): Reply.result(value, id: id)
    case .failure(let error): Reply.error(error, id: id)
    }
  }

  /// Answers one received value for a transport that holds the reply until
  /// it is complete (HTTP). Requests of a batch run concurrently; the batch
  /// reply lists them in the order they were sent. Returns nil when nothing
  /// is to be sent back (notifications only).
  ///
  /// - Parameters:
  ///   - call: runs one request to its outcome; the requests of a batch
  ///     get the same `ReplyShare`.
  ///   - notify: receives each notification, in order, before any request runs.
  public func answer(
    _ json: JSONValue,
    call: @escaping @Sendable (IncomingRequest, ReplyShare?) async -> Result<JSONValue, ResponseError>,
    notify: (String, JSONValue?) -> Void
  ) async -> JSONValue? {
    switch Self.classify(json) {
    case .emptyBatch:
      return emptyBatchReply
    case .single(let message):
      switch message {
      case .request(let id, let method, let params):
        return Self.response(await call(IncomingRequest(id: id, method: method, params: params), nil), id: id)
      case .notification(let method, let params):
        notify(method, params)
        return nil
      case .response:
        return nil
      case .invalid(let id, let reason):
        return invalid(reason, id: id)
      }
    case .batch(let messages):
      // Decide every element's fate first, in order, as the stdio reader
      // does: notifications are handled in arrival order and a repeated id
      // is refused while the first is still in flight.
      var planned: [Planned] = []
      var seen: Set<RequestID> = []
      for message in messages {
        switch message {
        case .request(let id, let method, let params):
          if seen.insert(id).inserted {
            planned.append(.run(IncomingRequest(id: id, method: method, params: params)))
          } else {
            planned.append(.reply(duplicate(id)))
          }
        case .notification(let method, let params):
          notify(method, params)
        case .response:
          break
        case .invalid(let id, let reason):
          planned.append(.reply(invalid(reason, id: id)))
        }
      }
      if planned.isEmpty { return nil }
      let share = ReplyShare()
      let replies = await withTaskGroup(of: (Int, JSONValue).self) { group in
        var replies = [JSONValue](repeating: .null, count: planned.count)
        for (index, entry) in planned.enumerated() {
          switch entry {
          case .reply(let reply):
            replies[index] = reply
          case .run(let request):
            group.addTask { (index, Self.response(await call(request, share), id: request.id)) }
          }
        }
        for await (index, reply) in group { replies[index] = reply }
        return replies
      }
      return .array(replies)
    }
  }

  private enum Planned {
    case run(IncomingRequest)
    case reply(JSONValue)
  }
}
