import Support
import Dispatch
import Logging

/// SIGTERM or SIGINT starts a graceful shutdown that waits for the requests
/// in flight; this bounds the wait. A request that does not end by itself
/// (a client that stopped reading a download, work that ignores
/// cancellation) must not keep the process alive: after `grace` the
/// process exits anyway, as a supervisor expects within seconds.
enum ShutdownDeadline {
  static let grace: Duration = .seconds(4)

  /// Watches the signals alongside the graceful shutdown (a dispatch signal
  /// source does not take the signal from the other watchers).
  static func arm(signals: [Int32] = [SIGTERM, SIGINT], logger: Logger) -> [any DispatchSourceSignal] {
    signals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        let (seconds, attoseconds) = grace.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
          logger.warning("requests still running \(grace) after the shutdown signal; exiting without them")
          _exit(0)
        }
      }
      source.resume()
      return source
    }
  }
}
