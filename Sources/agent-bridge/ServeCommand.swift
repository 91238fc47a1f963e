import ArgumentParser
import Bridge
import Foundation
import HTTPAdapter
import JSONRPC
import Logging

struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Serve the OpenHands REST paths over HTTP, with an interactive docs page.",
    discussion: """
      Answers GET /health, /alive, /server_info, the per-conversation paths under \
      /api/conversations/{id}/ (config, vscode-url, web-hosts, list-files, select-file, \
      zip-directory, git/changes, git/diff, POST submit-feedback), POST /api/jsonrpc, \
      GET /openapi.json and GET /docs, from the same dispatcher as stdio.

      Safety: binds 127.0.0.1 by default. With --api-key (or AGENT_BRIDGE_API_KEY) every \
      path but /health, /alive, /server_info, /openapi.json and /docs needs the header \
      X-Session-API-Key. A non-loopback --host without a key is refused. On a loopback \
      bind, a Host header other than the bound address or localhost is answered 421 \
      (DNS rebinding). A request from another web page (an Origin other than the \
      server's own or --allow-origin, or Sec-Fetch-Site cross-site or same-site) is \
      answered 403, a POST whose Content-Type is not application/json 415, and a \
      connection that has not sent a whole request within --request-timeout is closed. \
      SIGTERM or SIGINT finishes the requests in flight, then exits 0; requests still \
      running 4 s later are cut off.

      Examples:
        agent-bridge serve --workspace ~/project        # then open http://127.0.0.1:3000/docs
        AGENT_BRIDGE_API_KEY=secret agent-bridge serve --host 0.0.0.0 --allowed-host dev.example.com
      """
  )

  @OptionGroup var common: CommonOptions

  @Option(help: ArgumentHelp("The address to bind.", valueName: "address"))
  var host: String = "127.0.0.1"

  @Option(help: ArgumentHelp("The port to listen on (0 picks a free one).", valueName: "port"))
  var port: Int = 3000

  @Option(
    name: .customLong("api-key"),
    help: ArgumentHelp(
      "Require this key in X-Session-API-Key (default: $AGENT_BRIDGE_API_KEY). Prefer the variable: "
        + "a command line is visible to other users.", valueName: "key"))
  var apiKey: String?

  @Option(
    name: .customLong("allowed-host"),
    help: ArgumentHelp(
      "On a non-loopback --host, a Host header value to accept (repeatable; any when none given).",
      valueName: "host"))
  var allowedHosts: [String] = []

  @Option(
    name: .customLong("allow-origin"),
    help: ArgumentHelp("Turn CORS on for this one origin, e.g. http://localhost:5173.", valueName: "origin"))
  var allowOrigin: String?

  @Option(
    name: .customLong("max-batch"),
    help: ArgumentHelp("POST /api/jsonrpc batches longer than this are answered -32600 as a whole.", valueName: "messages"))
  var maxBatchLength: Int = HTTPServerOptions().maxBatchLength

  @Option(
    name: .customLong("request-timeout"),
    help: ArgumentHelp(
      "Close a connection that has not sent a whole request within this many seconds.", valueName: "seconds"))
  var requestTimeout: Double = 30

  func run() async throws {
    common.settings.bootstrapLogging()
    var logger = Logger(label: "agent-bridge")
    logger.logLevel = common.settings.resolvedLogLevel
    var server = HTTPServerOptions()
    server.host = host
    server.port = port
    server.apiKey = apiKey ?? ProcessInfo.processInfo.environment["AGENT_BRIDGE_API_KEY"]
    server.allowedHosts = allowedHosts
    server.allowOrigin = allowOrigin
    server.maxBatchLength = maxBatchLength
    guard requestTimeout.isFinite, requestTimeout > 0, requestTimeout <= 86_400 else {
      throw ValidationError("--request-timeout must be a number of seconds above 0 and at most 86400")
    }
    server.requestTimeout = .milliseconds(Int64((requestTimeout * 1000).rounded(.up)))
    do throws(HTTPServerError) {
      try server.validate()
    } catch {
      throw ValidationError(error.description)
    }
    let options = try common.settings.bridgeOptions()
    let dispatcher: Dispatcher
    do throws(ResponseError) {
      dispatcher = try Dispatcher(options: options, logger: logger)
    } catch {
      throw ValidationError(error.message)
    }
    let http: HTTPServer
    do throws(HTTPServerError) {
      http = try HTTPServer(dispatcher: dispatcher, options: server, logger: logger)
    } catch {
      throw ValidationError(error.description)
    }
    let conversation = dispatcher.conversations.defaultConversation
    let displayHost = host.contains(":") ? "[\(host)]" : host
    try await http.run { port in
      // One line on stderr so a person knows where to go; stdout stays quiet.
      FileHandle.standardError.write(
        Data(
          """
          agent-bridge serving \(conversation.workspace) (conversation \(conversation.id))
          docs: http://\(displayHost):\(port)/docs

          """.utf8))
    }
    // Close the feedback client's connections (if forwarding ever started).
    await dispatcher.feedbackForwarder?.finish()
  }
}
