import NIOCore
import NIOHTTPTypes
import Synchronization

/// Whether the client of one connection is still there, and the request to
/// cancel when it leaves. Shared between the connection's channel handler
/// (on the event loop) and the task answering its request.
///
/// A client that closes its socket while waiting for a long answer (a zip
/// of a large tree, gitChanges on a huge repository) should not leave the
/// server working for nobody: `$/cancelRequest` does that on stdio, this
/// does it over HTTP. The end of the client's input counts as leaving, as
/// it does for Hummingbird's own `consumeWithCancellationOnInboundClose`,
/// which is not used because it closes every connection after its answer.
final class ClientDeparture: Sendable {
  private struct State {
    var gone = false
    var cancel: (@Sendable () -> Void)?
  }

  private let state = Mutex(State())

  /// Runs `work` in a task of its own, cancelled if the client leaves
  /// before it ends (or the calling task is cancelled).
  func cancellingOnDeparture<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
    let task = Task { await work() }
    let gone = state.withLock { state in
      if !state.gone { state.cancel = { task.cancel() } }
      return state.gone
    }
    if gone { task.cancel() }
    let value = await withTaskCancellationHandler {
      await task.value
    } onCancel: {
      task.cancel()
    }
    state.withLock { $0.cancel = nil }
    return value
  }

  /// The client closed its side or the connection dropped.
  func clientLeft() {
    let cancel = state.withLock { state in
      state.gone = true
      defer { state.cancel = nil }
      return state.cancel
    }
    cancel?()
  }

  // MARK: Finding a connection's departure from its requests

  /// The departures of the open connections, by channel. Request contexts
  /// are made from the channel alone, so this is how a request finds its
  /// connection's handler without a hop to the event loop.
  private static let open = Mutex<[ObjectIdentifier: ClientDeparture]>([:])

  static func of(_ channel: any Channel) -> ClientDeparture? {
    open.withLock { $0[ObjectIdentifier(channel)] }
  }

  fileprivate static func register(_ departure: ClientDeparture, for channel: any Channel) {
    open.withLock { $0[ObjectIdentifier(channel)] = departure }
  }

  fileprivate static func unregister(_ channel: any Channel) {
    _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
  }
}

/// Watches one connection for its client leaving: the end of its input
/// (the server allows half-closure, so that arrives as an event) or the
/// connection going inactive.
final class ClientDepartureHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart

  private let departure = ClientDeparture()

  func handlerAdded(context: ChannelHandlerContext) {
    ClientDeparture.register(departure, for: context.channel)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    ClientDeparture.unregister(context.channel)
  }

  func channelInactive(context: ChannelHandlerContext) {
    departure.clientLeft()
    ClientDeparture.unregister(context.channel)
    context.fireChannelInactive()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if case ChannelEvent.inputClosed? = event as? ChannelEvent { departure.clientLeft() }
    context.fireUserInboundEventTriggered(event)
  }
}

@available(*, unavailable)
extension ClientDepartureHandler: Sendable {}
