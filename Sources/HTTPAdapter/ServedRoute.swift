import Hummingbird

/// One path and method `serve` answers, and what answers it. The router and
/// the `RouteTable` are both built from the list of these.
struct ServedRoute: Sendable {
  typealias Handler = @Sendable (Request, ConnectionRequestContext) async -> Response

  let path: String
  let method: HTTPRequest.Method
  let handler: Handler

  init(_ path: String, _ method: HTTPRequest.Method, _ handler: @escaping Handler) {
    self.path = path
    self.method = method
    self.handler = handler
  }
}
