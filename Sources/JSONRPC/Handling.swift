/// How a handler answers a request, decided on the reader thread in arrival
/// order: at once (lifecycle, trivial reads), or by work that runs
/// concurrently with everything else.
public enum Handling: Sendable {
  case answer(Result<JSONValue, ResponseError>)
  case run(@Sendable (RequestContext) async throws -> JSONValue)
}

extension Handling {
  /// Runs the handling to its reply value. Thrown `ResponseError`s become error
  /// replies, cancellation becomes -32800, anything else -32603 as
  /// `errors` builds it.
  public func reply(context: RequestContext, errors: ProtocolErrors) async -> Result<JSONValue, ResponseError> {
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
        return .failure(errors.internalError(String(describing: error)))
      }
    }
  }
}
