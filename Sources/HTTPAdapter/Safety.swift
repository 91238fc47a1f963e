import BridgeProtocol
import Hummingbird
import JSONRPC
import Synchronization

/// Which `Host` values a server answers, against DNS rebinding: a page on
/// evil.example that resolves its own name to 127.0.0.1 still sends
/// `Host: evil.example`, and is refused with 421.
struct HostPolicy: Sendable {
  enum Rule: Sendable {
    /// Loopback bind: the bound address or localhost, any port; bound to
    /// `localhost`, also the addresses that name resolves to here.
    case names(Set<String>)
    /// Non-loopback with `--allowed-host`: those names (or name:port).
    case allowList(Set<String>)
    /// Non-loopback without a list: the key is the protection.
    case any
  }

  let rule: Rule

  init(options: HTTPServerOptions) {
    if options.bindsLoopback {
      var bound = options.host.lowercased()
      if bound.contains(":") && !bound.hasPrefix("[") { bound = "[\(bound)]" }
      // A browser told `localhost` may connect over either family and then
      // names the address, not the name, when the person typed it.
      rule = .names(bound == "localhost" ? ["localhost", "127.0.0.1", "[::1]"] : [bound, "localhost"])
    } else if !options.allowedHosts.isEmpty {
      rule = .allowList(Set(options.allowedHosts.map { $0.lowercased() }))
    } else {
      rule = .any
    }
  }

  /// Whether a request's `Host` (HTTP/2 `:authority`) is served. A request
  /// without one (HTTP/1.0 tools) is: browsers always send it, and browsers
  /// are what rebinding attacks go through.
  func allows(_ authority: String?) -> Bool {
    guard let authority else { return true }
    let full = authority.lowercased()
    let host = Self.hostPart(full)
    switch rule {
    case .any: return true
    case .names(let names): return names.contains(host)
    case .allowList(let names): return names.contains(host) || names.contains(full)
    }
  }

  /// `example.com:8080` -> `example.com`; `[::1]:3000` -> `[::1]`.
  static func hostPart(_ authority: String) -> String {
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { return authority }
      return String(authority[...close])
    }
    guard let colon = authority.lastIndex(of: ":") else { return authority }
    return String(authority[..<colon])
  }
}

/// The session key check: compared in constant time so that response
/// timing does not reveal how much of a guess was right.
struct APIKey: Sendable {
  let expected: [UInt8]

  init(_ key: String) { expected = Array(key.utf8) }

  func matches(_ given: String?) -> Bool {
    guard let given else { return false }
    let candidate = Array(given.utf8)
    // Every byte of the longer of the two is looked at; the length
    // difference itself counts as a mismatch.
    var difference = UInt8(truncatingIfNeeded: expected.count ^ candidate.count)
    difference |= expected.count == candidate.count ? 0 : 1
    let length = max(expected.count, candidate.count)
    for index in 0..<length {
      let a = index < expected.count ? expected[index] : 0
      let b = index < candidate.count ? candidate[index] : 0
      difference |= a ^ b
    }
    return difference == 0
  }
}

/// The outermost layer: every response carries `Cache-Control: no-store`,
/// anything thrown inside is answered in FastAPI's shapes (`{"detail": ...}`,
/// or `Internal Server Error` as text), a request whose Host is not served
/// gets 421 and one from a foreign page 403, before anything else runs.
struct GuardMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
  let hosts: HostPolicy
  let origins: OriginPolicy
  let activity: Activity

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    var response = await respond(request, context: context, next: next)
    response.headers[.cacheControl] = "no-store"
    return response
  }

  private func respond(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async -> Response {
    guard hosts.allows(request.head.authority) else {
      return JSONResponse.make(421, ["detail": "Misdirected Request: this server does not answer for that Host"])
    }
    guard origins.allows(request) else { return OriginPolicy.refusal }
    let counted = !Activity.monitoringPaths.contains(request.uri.path)
    if counted { activity.begin() }
    defer { if counted { activity.end() } }
    do {
      return try await next(request, context)
    } catch let error as any HTTPResponseError {
      let status = Int(error.status.code)
      let detail: String =
        switch status {
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Request body too large"
        default: error.status.reasonPhrase
        }
      return JSONResponse.make(status, ["detail": .string(detail)])
    } catch {
      context.logger.error("unhandled error: \(error)")
      return Response(
        status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: "Internal Server Error")))
    }
  }
}

/// The session key, inside the CORS layer so that a browser's preflight
/// (which never carries custom headers) is answered and a 401 is readable.
struct KeyMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
  let key: APIKey

  /// Paths anyone may read: liveness, the API description and the docs
  /// page (which asks the person for the key). Everything else, every
  /// `/api/` path included, needs the key. A list of what is open rather
  /// than a prefix of what is closed, so that no spelling of a path
  /// (`//api/...`, `/API/...`) slips past.
  static var publicPaths: Set<String> { DocsPage.paths.union(["/health", "/alive", "/server_info", "/openapi.json"]) }

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    if !Self.publicPaths.contains(request.uri.path), !key.matches(request.headers[.sessionAPIKey]) {
      let (status, body) = RESTMapping.httpError(BridgeError.unauthorized)
      return JSONResponse.make(status, body)
    }
    return try await next(request, context)
  }
}

/// Requests in flight and the end of the last one, for `/server_info`'s
/// `idle_time`. Monitoring probes do not count as activity.
final class Activity: Sendable {
  static let monitoringPaths: Set<String> = ["/health", "/alive", "/server_info"]

  let started = ContinuousClock.now
  private let state = Mutex((inFlight: 0, lastEnd: ContinuousClock.now))

  func begin() { state.withLock { $0.inFlight += 1 } }

  func end() {
    let now = ContinuousClock.now
    state.withLock {
      $0.inFlight -= 1
      $0.lastEnd = now
    }
  }

  var uptime: Duration { ContinuousClock.now - started }

  var idleTime: Duration {
    let now = ContinuousClock.now
    return state.withLock { $0.inFlight > 0 ? .zero : now - $0.lastEnd }
  }
}

/// HTTPTypes' `HTTPField`, reached through what Hummingbird exports.
typealias HeaderName = HTTPFields.Element.Name

extension HTTPFields.Element.Name {
  static let sessionAPIKey = HeaderName(OpenAPI.apiKeyHeader)!
}
