import JSONRPC

/// One method's handler, erased: decodes params, finds the conversation and
/// either answers or returns the work to run.
struct Handler: Sendable {
  let route: @Sendable (JSONValue?, RequestContext, Dispatcher) -> Handling
}
