import Hummingbird
import HummingbirdCore

/// The request context of `serve`'s routes: Hummingbird's basics plus the
/// connection's `ClientDeparture`, so that long work can stop when its
/// client goes away.
struct ConnectionRequestContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  /// nil only where a route runs without a connection (never in `serve`).
  let departure: ClientDeparture?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    departure = ClientDeparture.of(source.channel)
  }

  /// Runs a request's work, cancelled if the client leaves first.
  func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
    guard let departure else { return await work() }
    return await departure.cancellingOnDeparture(work)
  }
}
