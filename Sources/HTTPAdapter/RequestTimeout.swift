import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// `--request-timeout`: a connection that has not sent a whole request
/// within the timeout is closed, so half-open or trickling connections
/// cannot pile up and hold the server's descriptors forever.
///
/// The clock runs while the connection owes the server a request: from
/// the moment it opens (or its last response ended) until a request's end
/// arrives. It stops while a request that was read in full is answered, so
/// a long download is never cut. Unlike Hummingbird's `idleTimeout`, body
/// bytes do not restart it: a body sent one byte at a time still has to
/// be complete within the timeout.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  let timeout: TimeAmount
  /// Requests read in full and not answered yet.
  private var answering = 0
  /// A request head arrived and its end has not.
  private var reading = false
  private var timer: Scheduled<Void>?

  init(timeout: TimeAmount) { self.timeout = timeout }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { update(context) }
  }

  func handlerRemoved(context: ChannelHandlerContext) { stopTimer() }

  func channelActive(context: ChannelHandlerContext) {
    update(context)
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    stopTimer()
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head: reading = true
    case .body: break
    case .end:
      reading = false
      answering += 1
    }
    update(context)
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if case .end = unwrapOutboundIn(data) {
      answering = max(0, answering - 1)
      update(context)
    }
    context.write(data, promise: promise)
  }

  /// Starts the clock when the connection comes to owe a request, stops it
  /// when it owes none. A running clock is left alone: a request head
  /// arriving does not buy the connection more time.
  private func update(_ context: ChannelHandlerContext) {
    let owesRequest = reading || answering == 0
    if !owesRequest {
      stopTimer()
    } else if timer == nil {
      let loop = context.eventLoop.assumeIsolated()
      timer = loop.scheduleTask(in: timeout) { [weak self] in
        self?.timer = nil
        context.close(promise: nil)
      }
    }
  }

  private func stopTimer() {
    timer?.cancel()
    timer = nil
  }
}

@available(*, unavailable)
extension RequestTimeoutHandler: Sendable {}
