import Dispatch
import Foundation

/// SIGTERM and SIGINT end a stdio session at once: the replies already made
/// are written out, work still running is dropped (its client is going
/// away), and the exit status is the shell's 128 + the signal.
///
/// Without handlers the kernel's default does the same, except for a
/// process that is PID 1 of its namespace (`podman run -i IMAGE stdio`),
/// which ignores every signal it has no handler for and so could only be
/// killed.
enum SignalExit {
  /// Watches the signals until the returned sources are cancelled or go.
  static func arm(
    _ signals: [Int32] = [SIGTERM, SIGINT], beforeExit: @escaping @Sendable (Int32) -> Void
  ) -> [any DispatchSourceSignal] {
    signals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        beforeExit(number)
        Foundation.exit(128 + number)
      }
      source.resume()
      return source
    }
  }
}
