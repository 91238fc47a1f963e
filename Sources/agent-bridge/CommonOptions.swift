import ArgumentParser
import Bridge
import Foundation
import Logging

/// Options every command that serves a workspace takes.
struct CommonOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The default conversation's workspace directory.", valueName: "dir"))
  var workspace: String = FileManager.default.currentDirectoryPath

  @Option(
    name: .customLong("conversation-id"),
    help: ArgumentHelp(
      "The default conversation's id (default: 32 hex digits derived from the workspace's real path).",
      valueName: "id"))
  var conversationId: String?

  @Option(name: .customLong("log-level"), help: "Log level on stderr: trace, debug, info, notice, warning, error.")
  var logLevel: Logger.Level = .warning

  @Option(
    name: .customLong("max-file-bytes"),
    help: ArgumentHelp("selectFile refuses files larger than this (-32015).", valueName: "bytes"))
  var maxFileBytes: Int = 16 << 20

  @Option(
    name: .customLong("max-inline-bytes"),
    help: ArgumentHelp(
      "zipDirectory without a destination refuses archives larger than this (-32015).", valueName: "bytes"))
  var maxInlineBytes: Int = 32 << 20

  @Option(name: .customLong("runtime-id"), help: ArgumentHelp("getConfig's runtime_id.", valueName: "id"))
  var runtimeId: String?

  @Option(name: .customLong("vscode-url"), help: ArgumentHelp("Base URL of a VS Code server.", valueName: "url"))
  var vscodeURL: String?

  @Option(name: .customLong("vscode-token"), help: ArgumentHelp("Its connection token.", valueName: "token"))
  var vscodeToken: String?

  @Option(
    name: .customLong("web-host"),
    help: ArgumentHelp("A web host the agent serves, as URL=PORT (repeatable).", valueName: "url=port"))
  var webHosts: [String] = []

  @Option(
    name: .customLong("state-dir"),
    help: ArgumentHelp(
      "Where feedback is stored (default: $XDG_STATE_HOME/agent-bridge, else ~/.local/state/agent-bridge).",
      valueName: "dir"))
  var stateDirectory: String?

  @Option(
    name: .customLong("feedback-url"),
    help: ArgumentHelp("Forward feedback records to this URL in the background.", valueName: "url"))
  var feedbackURL: String?

  func validate() throws {
    guard maxFileBytes > 0 else { throw ValidationError("--max-file-bytes must be positive") }
    guard maxInlineBytes > 0 else { throw ValidationError("--max-inline-bytes must be positive") }
    _ = try parsedWebHosts()
  }

  func parsedWebHosts() throws -> [(url: String, port: Int)] {
    try webHosts.map { entry in
      guard let equals = entry.lastIndex(of: "="), let port = Int(entry[entry.index(after: equals)...]),
        (0...65535).contains(port), equals > entry.startIndex
      else {
        throw ValidationError("--web-host takes URL=PORT, got '\(entry)'")
      }
      return (url: String(entry[..<equals]), port: port)
    }
  }

  func bridgeOptions() throws -> BridgeOptions {
    var options = BridgeOptions(workspace: workspace)
    options.conversationId = conversationId
    options.maxFileBytes = maxFileBytes
    options.maxInlineBytes = maxInlineBytes
    options.runtime.runtimeId = runtimeId
    options.runtime.vscodeURL = vscodeURL
    options.runtime.vscodeToken = vscodeToken
    options.runtime.webHosts = try parsedWebHosts()
    options.stateDirectory = stateDirectory
    options.feedbackURL = feedbackURL
    return options
  }

  func bootstrapLogging() {
    let level = logLevel
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
