import Hummingbird

/// Answers, as FastAPI does, a request the router would get wrong: a path
/// that is not exactly a route is 404 (Hummingbird's router would also
/// serve `list-files/` and `//health`); a route's path with trailing
/// slashes is a 307 to the path without them, query kept; a route asked
/// with a method it does not take (`HEAD`, `TRACE`, `OPTIONS` outside a
/// CORS preflight, ...) is 405 `{"detail":"Method Not Allowed"}` with
/// `Allow`. It runs after the Host, Origin, CORS and key checks, so none
/// of these answers reaches a request those refuse.
struct KnownPathMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
  let routes: RouteTable

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    let response = try await answer(request, context: context, next: next)
    // Nothing here serves HEAD, but its refusal must still come without a
    // body, or a keep-alive client would read the body as the next reply.
    return request.method == .head ? response.createHeadResponse() : response
  }

  private func answer(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let path = request.uri.path
    guard let methods = routes.methods(for: path) else {
      if let canonical = routes.canonical(path) {
        // Relative, so that no scheme or host is guessed behind a proxy.
        let query = request.uri.query ?? ""
        let location = query.isEmpty ? canonical : canonical + "?" + query
        return Response(status: .temporaryRedirect, headers: [.location: location])
      }
      return JSONResponse.make(404, ["detail": "Not Found"])
    }
    guard methods.contains(request.method) else {
      var response = JSONResponse.make(405, ["detail": "Method Not Allowed"])
      response.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
      return response
    }
    return try await next(request, context)
  }
}
