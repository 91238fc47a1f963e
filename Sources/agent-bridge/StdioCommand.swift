import ArgumentParser
import Bridge
import BridgeProtocol
import Foundation
import JSONRPC
import Logging

struct StdioCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stdio",
    abstract: "Speak JSON-RPC 2.0 on stdin/stdout (the default).",
    discussion: """
      Messages may use LSP framing (Content-Length: N, a blank line, N bytes) or be \
      one JSON value per line; each reply uses the framing of the message it answers. \
      Requests run concurrently and replies may come out of order. End of input \
      finishes the requests in flight and exits 0; SIGTERM or SIGINT writes the replies \
      already made and exits at once (128 + the signal), even as a container's PID 1.
      """
  )

  @OptionGroup var common: CommonOptions

  @Option(help: "Force one framing for reading and writing: lsp or ndjson (default: detect per message).")
  var framing: Framing?

  @Option(
    name: .customLong("max-message-bytes"),
    help: ArgumentHelp("Messages larger than this are answered -32600 and skipped.", valueName: "bytes"))
  var maxMessageBytes: Int = StdioSession.defaultMaxMessageBytes

  @Option(
    name: .customLong("max-batch"),
    help: ArgumentHelp("Batches longer than this are answered -32600 as a whole.", valueName: "messages"))
  var maxBatchLength: Int = Connection.Options.defaultMaxBatchLength

  @Option(
    name: .customLong("max-in-flight"),
    help: ArgumentHelp(
      "Requests whose work may run at once; past it a request is answered -32600 at once.", valueName: "requests"))
  var maxInFlight: Int = Connection.Options.defaultMaxInFlight

  @Flag(help: "Answer requests before initialize with -32002, as LSP demands.")
  var strict = false

  func validate() throws {
    guard maxMessageBytes > 0 else { throw ValidationError("--max-message-bytes must be positive") }
    guard maxBatchLength > 0 else { throw ValidationError("--max-batch must be positive") }
    guard maxInFlight > 0 else { throw ValidationError("--max-in-flight must be positive") }
  }

  func run() async throws {
    try await StdioSession(
      common: common.settings, framing: framing, maxMessageBytes: maxMessageBytes, maxBatchLength: maxBatchLength,
      maxInFlight: maxInFlight, strict: strict
    ).run()
  }
}

/// A stdio session on plain values: `StdioCommand` runs one on what it
/// parsed, a bare `agent-bridge` (as editors spawn it) on the defaults,
/// without parsing.
struct StdioSession {
  static let defaultMaxMessageBytes = 64 << 20

  var common = CommonSettings()
  var framing: Framing?
  var maxMessageBytes = defaultMaxMessageBytes
  var maxBatchLength = Connection.Options.defaultMaxBatchLength
  var maxInFlight = Connection.Options.defaultMaxInFlight
  var strict = false

  func run() async throws {
    let output = ProtocolOutput.claimStandardOutput()
    common.bootstrapLogging()
    let logger = Logger(label: "agent-bridge")
    var options = try common.bridgeOptions()
    options.strict = strict
    let writer = MessageWriter(fd: output) { error in
      logger.warning("client closed the output pipe (errno \(error)); replies are dropped")
    }
    let dispatcher: Dispatcher
    do throws(ResponseError) {
      dispatcher = try Dispatcher(options: options, logger: logger) { code in
        writer.flush()
        Foundation.exit(code)
      }
    } catch {
      throw ValidationError(error.message)
    }
    let connection = Connection(
      input: STDIN_FILENO, writer: writer,
      options: Connection.Options(
        maxMessageBytes: maxMessageBytes, forcedFraming: framing, maxBatchLength: maxBatchLength,
        maxInFlight: maxInFlight, errors: BridgeError.protocolErrors,
        limitSettings: .init(
          maxMessageBytes: "--max-message-bytes", maxBatchLength: "--max-batch", maxInFlight: "--max-in-flight")))
    let signals = SignalExit.arm { number in
      logger.info("signal \(number): exiting")
      writer.flush()
    }
    defer { signals.forEach { $0.cancel() } }
    logger.info("serving \(dispatcher.conversations.defaultConversation.workspace) on stdio")
    // Not `run`: this is a cooperative-pool thread, and the reader blocks.
    await connection.serve(handler: dispatcher)
    // Close the feedback client's connections (if forwarding ever started).
    await dispatcher.feedbackForwarder?.finish()
    Foundation.exit(0)
  }
}

extension Framing: ExpressibleByArgument {}

/// The real standard output, kept for protocol bytes only.
enum ProtocolOutput {
  /// Duplicates fd 1 for the protocol, then points fd 1 at stderr so that a
  /// stray `print` from any library cannot corrupt the stream. Also ignores
  /// SIGPIPE, so a client that goes away is an EPIPE, not a crash.
  static func claimStandardOutput() -> Int32 {
    signal(SIGPIPE, SIG_IGN)
    let saved = dup(STDOUT_FILENO)
    precondition(saved >= 0, "cannot duplicate stdout")
    _ = fcntl(saved, F_SETFD, FD_CLOEXEC)
    dup2(STDERR_FILENO, STDOUT_FILENO)
    return saved
  }
}
