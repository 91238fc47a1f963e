import BridgeProtocol
import JSONRPC
import Support

/// Collects handlers at start. Each feature registers its methods in a
/// `register(into:)` of its own file under `Handlers/`.
struct HandlerTable {
  var entries: [String: Handler] = [:]

  /// A handler cheap enough to answer on the reader thread (no I/O).
  mutating func inline<R: BridgeRequest>(
    _ type: R.Type, _ body: @escaping @Sendable (R.Params, HandlerScope) throws(ResponseError) -> R.Result
  ) {
    entries[R.method] = Handler { params, context, dispatcher in
      do throws(ResponseError) {
        let scope = try Self.scope(R.self, params, context, dispatcher)
        let decoded = try R.decode(params)
        return .answer(.success(try body(decoded, scope).json))
      } catch {
        return .answer(.failure(error))
      }
    }
  }

  /// A handler that needs nothing but its params (health): no scope is
  /// made, so answering it looks up no conversation. Only for methods that
  /// take none, where the scope could not have failed either.
  mutating func constant<R: BridgeRequest>(
    _ type: R.Type, _ body: @escaping @Sendable (R.Params) throws(ResponseError) -> R.Result
  ) {
    precondition(!R.takesConversation, "\(R.method) takes a conversation: register it inline")
    entries[R.method] = Handler { params, _, _ in
      do throws(ResponseError) {
        return .answer(.success(try body(try R.decode(params)).json))
      } catch {
        return .answer(.failure(error))
      }
    }
  }

  /// A handler that does real work: it runs concurrently in its own task,
  /// where cancellation reaches it.
  mutating func work<R: BridgeRequest>(
    _ type: R.Type, _ body: @escaping @Sendable (R.Params, HandlerScope) async throws -> R.Result
  ) {
    entries[R.method] = Handler { params, context, dispatcher in
      let scope: HandlerScope
      do throws(ResponseError) {
        scope = try Self.scope(R.self, params, context, dispatcher)
      } catch {
        return .answer(.failure(error))
      }
      return .run { context in
        var scope = scope
        scope.context = context
        let decoded = try R.decode(params)
        try Task.checkCancellation()
        // Off the cooperative pool: handlers block (libgit2, file I/O, fsync).
        return try await withTaskExecutorPreference(BlockingWorkExecutor.shared) {
          try await body(decoded, scope).json
        }
      }
    }
  }

  static func scope<R: BridgeRequest>(
    _ type: R.Type, _ params: JSONValue?, _ context: RequestContext, _ dispatcher: Dispatcher
  ) throws(ResponseError) -> HandlerScope {
    var id: String?
    if R.takesConversation, let raw = params?["conversationId"], !raw.isNull {
      guard case .string(let string) = raw else {
        throw try ParamsReader(params).wrongType("conversationId", raw, "string")
      }
      id = string
    }
    return HandlerScope(
      conversation: try dispatcher.conversations.conversation(id), context: context, dispatcher: dispatcher)
  }
}
