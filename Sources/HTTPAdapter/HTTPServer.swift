public import Bridge
import BridgeProtocol
import Hummingbird
import HummingbirdCore
import JSONRPC
public import Logging
import NIOCore

/// `agent-bridge serve`: the OpenHands REST paths, `/api/jsonrpc`, the
/// OpenAPI document and the docs page, all answered by the dispatcher stdio
/// uses. Routes are generated from `Registry.requests` (see `RESTMapping`);
/// this type only wires them to Hummingbird and adds the safety layers.
public struct HTTPServer: Sendable {
  public let dispatcher: Dispatcher
  public let options: HTTPServerOptions
  public let logger: Logger
  let activity = Activity()
  let heavy = HeavyRequests()
  let eventStreams = EventStreams()
  let openAPI: ByteBuffer
  let docs = ByteBuffer(string: DocsPage.html)

  public init(dispatcher: Dispatcher, options: HTTPServerOptions, logger: Logger) throws(HTTPServerError) {
    try options.validate()
    self.dispatcher = dispatcher
    self.options = options
    self.logger = logger
    openAPI = ByteBuffer(bytes: JSONWriter.encode(OpenAPI.document(serverVersion: BridgeVersion.version)))
  }

  /// Serves until SIGTERM or SIGINT, then stops accepting connections,
  /// lets the requests in flight finish, and returns; requests still
  /// running after `ShutdownDeadline.grace` end with the process.
  ///
  /// - Parameter onListening: called with the bound port once listening.
  public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    let deadline = ShutdownDeadline.arm(logger: logger) + eventStreams.finishOnSignals()
    defer { for source in deadline { source.cancel() } }
    try await application(onListening: onListening).runService(gracefulShutdownSignals: [.sigterm, .sigint])
  }

  /// Serves until the calling task is cancelled (tests, embedding).
  public func runUntilCancelled(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    try await application(onListening: onListening).runService(gracefulShutdownSignals: [])
  }

  func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
    Application(
      router: router(),
      server: .http1(
        configuration: HTTP1Channel.Configuration(
          additionalChannelHandlers: [
            RequestTimeoutHandler(timeout: .init(options.requestTimeout)), ClientDepartureHandler(),
          ])),
      configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port)),
      onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
      logger: logger
    )
  }

  // MARK: Routes

  func router() -> Router<ConnectionRequestContext> {
    let routes = self.routes()
    let router = Router(context: ConnectionRequestContext.self)
    router.add(
      middleware: GuardMiddleware(
        hosts: HostPolicy(options: options), origins: OriginPolicy(allowOrigin: options.allowOrigin),
        activity: activity))
    if let origin = options.allowOrigin {
      router.add(
        middleware: CORSMiddleware(
          allowOrigin: .custom(origin), allowHeaders: [.accept, .contentType, .origin, .sessionAPIKey],
          allowMethods: [.get, .post, .options], exposedHeaders: ["Content-Disposition"]))
    }
    if let key = options.apiKey { router.add(middleware: KeyMiddleware(key: APIKey(key))) }
    // Hummingbird's router answers `/swagger-ui/` with the `/swagger-ui`
    // route (it ignores a trailing slash); the table must know the slashed
    // spelling is a page of its own, the one the seed links, not a redirect.
    let table = RouteTable(routes.map { ($0.path, $0.method) } + [("/swagger-ui/", .get)])
    router.add(middleware: KnownPathMiddleware(routes: table))
    for route in routes {
      let handler = route.handler
      router.on(RouterPath(route.path), method: route.method) { request, context in await handler(request, context) }
    }
    return router
  }

  /// Every path served, with its method and handler: the router and the
  /// `RouteTable` that answers 404, 405 and 307 are both built from it.
  func routes() -> [ServedRoute] {
    var routes: [ServedRoute] = []
    for endpoint in RESTMapping.endpoints {
      let method: HTTPRequest.Method = endpoint.route.verb == .post ? .post : .get
      routes.append(
        ServedRoute(RESTMapping.routerPath(endpoint.route), method) { request, context in
          await self.serve(endpoint, request: request, context: context)
        })
    }
    let docs: ServedRoute.Handler = { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
        body: ResponseBody(byteBuffer: self.docs))
    }
    routes += [
      ServedRoute("/api/conversations/:conversation_id/events", .get) { request, context in
        await self.events(request, context: context)
      },
      ServedRoute("/alive", .get) { _, _ in JSONResponse.make(200, ["status": "ok"]) },
      ServedRoute("/server_info", .get) { _, _ in self.serverInfo() },
      ServedRoute("/api/jsonrpc", .post) { request, context in await self.jsonRPC(request, context: context) },
      ServedRoute("/openapi.json", .get) { _, _ in
        Response(
          status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: self.openAPI))
      },
      ServedRoute("/docs", .get, docs),
      // The seed's API reference links the page as `/swagger-ui/`.
      ServedRoute("/swagger-ui", .get, docs),
    ]
    return routes
  }

  /// One REST call: URL, query and body to params, the dispatcher, and the
  /// outcome to a status and body.
  func serve(_ endpoint: RESTMapping.Endpoint, request: Request, context: ConnectionRequestContext) async -> Response {
    var body: JSONValue?
    if endpoint.route.verb == .post, let refusal = JSONContentType.refusal(request) { return refusal }
    let turn = endpoint.route.bodyIsParams ? await heavy.turnForBody(of: request) : nil
    if endpoint.route.bodyIsParams {
      switch await readJSONBody(request) {
      case .success(let json): body = json
      case .failure(let error):
        let (status, errorBody) = RESTMapping.httpError(error)
        return JSONResponse.make(status, errorBody)
      }
    }
    let conversationId = context.parameters.get("conversation_id").map {
      RESTMapping.percentDecode($0[...])
    }
    let params = RESTMapping.params(
      for: endpoint.route, query: RESTMapping.parseQuery(request.uri.query.map { $0[...] }), body: body,
      conversationId: conversationId)
    if endpoint.route.streams { return await stream(endpoint, params: params) }
    let dispatcher = self.dispatcher
    return Self.outcome(await context.run { await dispatcher.call(method: endpoint.method, params: params) })
      .holding(turn)
  }

  static func outcome(_ result: Result<JSONValue, ResponseError>) -> Response {
    switch result {
    case .success(let value):
      return JSONResponse.make(200, value)
    case .failure(let error):
      let (status, body) = RESTMapping.httpError(error)
      return JSONResponse.make(status, body)
    }
  }

  /// A streaming route (zip-directory): the method writes its bytes to the
  /// request's `output` as it makes them, and they leave as chunks of the
  /// response body. The status is decided by what comes first: a chunk
  /// means 200 and the stream; the method ending without one means its
  /// outcome as JSON (an error such as 403, before any byte was sent).
  func stream(_ endpoint: RESTMapping.Endpoint, params: JSONValue?) async -> Response {
    let handoff = StreamHandoff()
    let context = RequestContext(
      request: IncomingRequest(id: .number(0), method: endpoint.method, params: params), output: handoff)
    let dispatcher = self.dispatcher
    let work = Task {
      let result = await dispatcher.call(method: endpoint.method, params: params, context: context)
      handoff.finish()
      return result
    }
    guard case .chunk(let first) = await handoff.next() else {
      return Self.outcome(await work.value)
    }
    let logger = self.logger
    return Response(
      status: .ok,
      headers: [
        .contentType: "application/zip", .contentDisposition: #"attachment; filename="workspace.zip""#,
      ],
      body: ResponseBody { writer in
        do {
          try await writer.write(ByteBuffer(bytes: first))
          while case .chunk(let bytes) = await handoff.next() {
            try await writer.write(ByteBuffer(bytes: bytes))
          }
        } catch {
          // The client went away: stop the work, which stops reading files.
          handoff.cancel()
          work.cancel()
          _ = await work.value
          throw error
        }
        if case .failure(let error) = await work.value {
          // Too late for a status: end the connection without the last
          // chunk, so the client sees a cut transfer, not a whole archive.
          logger.error("\(endpoint.method) failed while streaming: \(error.message)")
          throw error
        }
        try await writer.finish(nil)
      })
  }

  /// `GET /api/conversations/{id}/events`: a subscription to files and git
  /// as Server-Sent Events, one event per notification (the first
  /// gitChanged at once), a heartbeat comment every `eventHeartbeat`,
  /// finished cleanly when the server shuts down. Ends the subscription
  /// when the client goes (found at the next write at the latest).
  func events(_ request: Request, context: ConnectionRequestContext) async -> Response {
    var params: JSONObject = ["events": ["files", "git"]]
    if let id = context.parameters.get("conversation_id") {
      params["conversationId"] = .string(RESTMapping.percentDecode(id[...]))
    }
    let stream = EventStream()
    let subscribe = IncomingRequest(id: .number(0), method: SubscribeRequest.method, params: .object(params))
    let dispatcher = self.dispatcher
    let result = await dispatcher.call(
      method: subscribe.method, params: subscribe.params,
      context: RequestContext(request: subscribe, notifications: stream))
    guard case .success(let reply) = result, let subscription = reply["subscriptionId"] else {
      return Self.outcome(result)
    }
    let streams = eventStreams
    streams.add(stream)
    let heartbeat = options.eventHeartbeat
    @Sendable func end() async {
      streams.remove(stream)
      _ = await dispatcher.call(method: UnsubscribeRequest.method, params: ["subscriptionId": subscription])
    }
    return Response(
      status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
      body: ResponseBody { writer in
        let beats = Task {
          while true {
            try await Task.sleep(for: heartbeat)
            stream.heartbeat()
          }
        }
        defer { beats.cancel() }
        do {
          for await bytes in stream.events {
            try await writer.write(ByteBuffer(bytes: bytes))
            stream.written(bytes.count)
          }
        } catch {
          await end()
          throw error
        }
        await end()
        try await writer.finish(nil)
      })
  }

  /// The body as JSON: nil when empty, -32700 (400) when not JSON, -32600
  /// (400) when over the size limit.
  func readJSONBody(_ request: Request, maxBatchLength: Int = .max) async -> Result<JSONValue?, ResponseError> {
    let buffer: ByteBuffer
    do {
      buffer = try await request.body.collect(upTo: options.maxBodyBytes)
    } catch {
      return .failure(BridgeError.invalidRequest("Request body too large: over \(options.maxBodyBytes) bytes"))
    }
    if buffer.readableBytes == 0 { return .success(nil) }
    return buffer.withUnsafeReadableBytes { bytes in
      Self.replyRules.parse(bytes, maxBatchLength: maxBatchLength, parseErrorPrefix: "Parse error: body is not valid JSON: ")
        .map { $0 }
    }
  }

  // MARK: JSON-RPC over HTTP

  /// Methods the HTTP door answers: every one with a REST route, plus the
  /// read-only ones around them. `initialize` and `openConversation` name
  /// new directories to serve, and `shutdown`/`closeConversation` change
  /// the process for everyone; those stay with the process's owner on stdio.
  static let jsonRPCMethods: Set<String> = Set(RESTMapping.endpoints.map(\.method)).union([
    ListConversationsRequest.method, "rpc.discover",
  ])

  func jsonRPC(_ request: Request, context: ConnectionRequestContext) async -> Response {
    if let refusal = JSONContentType.refusal(request) { return refusal }
    var turn = await heavy.turnForBody(of: request)
    let json: JSONValue
    switch await readJSONBody(request, maxBatchLength: options.maxBatchLength) {
    case .success(let value?): json = value
    case .success(nil):
      // No message at all is an HTTP matter, like a body that is not JSON's
      // media type (415): the document says the body is required.
      return JSONResponse.make(400, ["detail": "Request body required: a JSON-RPC request or batch"])
    case .failure(let error): return JSONResponse.make(200, Reply.error(error, id: nil))
    }
    turn = await heavy.turnForReply(to: json, holding: turn)
    let dispatcher = self.dispatcher
    let reply = await context.run {
      await Self.answer(json, dispatcher: dispatcher)
    }
    guard let reply else { return Response(status: .noContent) }
    return JSONResponse.make(200, reply).holding(turn)
  }

  /// A JSON-RPC message (or batch) through the dispatcher, methods limited
  /// to those the HTTP door serves.
  /// JSON-RPC's rules with the contract's error data; a batch over the
  /// limit names the option that sets it.
  static let replyRules = ReplyRules(errors: BridgeError.protocolErrors, batchLimitSetting: "--max-batch")

  static func answer(_ json: JSONValue, dispatcher: Dispatcher) async -> JSONValue? {
    await replyRules.answer(
      json,
      call: { request, share in
        guard Self.jsonRPCMethods.contains(request.method) else {
          if request.method == SubscribeRequest.method || request.method == UnsubscribeRequest.method {
            // A POST carries one reply and nothing after it.
            return .failure(
              BridgeError.invalidRequest(
                "\(request.method) is not available over HTTP POST: it has no channel to push notifications on"
                  + " (use stdio)"))
          }
          if Registry.request(named: request.method) != nil {
            return .failure(
              ResponseError(
                code: .methodNotFound,
                message: "Method not available over HTTP: \(request.method) (use stdio)",
                data: BridgeError.httpData(404, ["detail": "Not Found"])))
          }
          return .failure(BridgeError.methodNotFound(request.method))
        }
        if let route = Registry.request(named: request.method)?.http,
          let refused = route.stdioOnlyParams.first(where: { request.params?[$0].map { !$0.isNull } ?? false })
        {
          return .failure(
            BridgeError.invalidParams(
              field: refused, type: "value_error", message: "\(refused) is not available over HTTP (use stdio)",
              input: request.params?[refused] ?? .null, location: "body"))
        }
        return await dispatcher.call(
          method: request.method, params: request.params, context: RequestContext(request: request, replyShare: share))
      },
      notify: { _, _ in
        // Notifications change nothing over HTTP: `exit` and `$/cancelRequest`
        // belong to a stdio session. They are accepted and get no reply.
      })
  }

  // MARK: Server info

  func serverInfo() -> Response {
    JSONResponse.make(
      200,
      [
        "uptime": .double(Self.seconds(activity.uptime)),
        "idle_time": .double(Self.seconds(activity.idleTime)),
        "version": .string(BridgeVersion.version),
      ])
  }

  static func seconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return ((Double(seconds) + Double(attoseconds) / 1e18) * 1000).rounded() / 1000
  }
}

/// JSON bodies as OpenHands writes them: compact, raw UTF-8.
enum JSONResponse {
  static func make(_ status: Int, _ body: JSONValue) -> Response {
    Response(
      status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.encode(body))))
  }
}
