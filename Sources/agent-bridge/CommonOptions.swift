import ArgumentParser
import Bridge
import Foundation
import JSONRPC
import Logging

/// Options every command that serves a workspace takes. Each may also come
/// from `--config FILE`; a flag on the command line wins over the file.
struct CommonOptions: ParsableArguments {
  @Option(
    name: .customLong("config"),
    help: ArgumentHelp(
      "A JSON file holding any of these options (by long name) and more conversations; flags override it. See README.",
      valueName: "file"))
  var configFile: String?

  @Option(
    help: ArgumentHelp("The default conversation's workspace directory (default: the current directory).", valueName: "dir"))
  var workspace: String?

  @Option(
    name: .customLong("conversation-id"),
    help: ArgumentHelp(
      "The default conversation's id (default: 32 hex digits derived from the workspace's real path).",
      valueName: "id"))
  var conversationId: String?

  @Option(
    name: .customLong("log-level"),
    help: "Log level on stderr (default: warning).")
  var logLevel: Logger.Level?

  @Option(
    name: .customLong("max-file-bytes"),
    help: ArgumentHelp("selectFile refuses files larger than this (-32015; default: 16 MiB).", valueName: "bytes"))
  var maxFileBytes: Int?

  @Option(
    name: .customLong("max-inline-bytes"),
    help: ArgumentHelp(
      "zipDirectory without a destination refuses archives larger than this (-32015; default: 32 MiB).",
      valueName: "bytes"))
  var maxInlineBytes: Int?

  @Option(
    name: .customLong("runtime-id"),
    help: ArgumentHelp("getConfig's runtime_id for the default conversation (default: null).", valueName: "id"))
  var runtimeId: String?

  @Option(
    name: .customLong("vscode-url"),
    help: ArgumentHelp(
      "Base URL of a VS Code server; vscodeUrl answers BASE/?tkn=TOKEN&folder=WORKSPACE (default: null).",
      valueName: "url"))
  var vscodeURL: String?

  @Option(name: .customLong("vscode-token"), help: ArgumentHelp("The VS Code server's connection token.", valueName: "token"))
  var vscodeToken: String?

  @Option(
    name: .customLong("web-host"),
    help: ArgumentHelp(
      "A web host the agent serves, as URL=PORT (repeatable; replaces the config file's list).", valueName: "url=port"))
  var webHosts: [String] = []

  @Option(
    name: .customLong("state-dir"),
    help: ArgumentHelp(
      "Where feedback is stored (default: $XDG_STATE_HOME/agent-bridge, else ~/.local/state/agent-bridge; "
        + "owned by you, not writable by group or others).",
      valueName: "dir"))
  var stateDirectory: String?

  @Option(
    name: .customLong("feedback-url"),
    help: ArgumentHelp(
      """
        POST each feedback record to this http:// or https:// URL in the background, retrying until it \
        answers 2xx. Redirects are not followed and no proxy is used (HTTP_PROXY is ignored). https \
        verifies the receiver against the system's CA roots, or --feedback-ca-file's.
        """,
      valueName: "url"))
  var feedbackURL: String?

  @Option(
    name: .customLong("feedback-ca-file"),
    help: ArgumentHelp(
      "A PEM file of CA certificates: the only roots trusted for an https --feedback-url (default: the system's).",
      valueName: "file"))
  var feedbackCAFile: String?

  @Option(
    name: .customLong("debounce-ms"),
    help: ArgumentHelp(
      "Subscriptions gather a workspace's changes this long into one notification (default: 50).",
      valueName: "ms"))
  var debounceMilliseconds: Int?

  func validate() throws {
    if let debounceMilliseconds, !(0...60_000).contains(debounceMilliseconds) {
      throw ValidationError("--debounce-ms must be between 0 and 60000")
    }
    if let maxFileBytes, maxFileBytes <= 0 { throw ValidationError("--max-file-bytes must be positive") }
    if let maxInlineBytes, maxInlineBytes <= 0 { throw ValidationError("--max-inline-bytes must be positive") }
    _ = try settings.parsedWebHosts()
  }

  /// The parsed values, for the code that acts on them.
  var settings: CommonSettings {
    CommonSettings(
      configFile: configFile, workspace: workspace, conversationId: conversationId, logLevel: logLevel,
      maxFileBytes: maxFileBytes, maxInlineBytes: maxInlineBytes, runtimeId: runtimeId, vscodeURL: vscodeURL,
      vscodeToken: vscodeToken, webHosts: webHosts, stateDirectory: stateDirectory, feedbackURL: feedbackURL,
      feedbackCAFile: feedbackCAFile, debounceMilliseconds: debounceMilliseconds)
  }
}

/// `CommonOptions`' values as plain stored properties. A bare `agent-bridge`
/// runs on the defaults (`CommonSettings()`) without ArgumentParser, whose
/// reflection over every option was a third of start-up's CPU; an unparsed
/// `CommonOptions` cannot stand in, its property wrappers trap when read.
struct CommonSettings: Sendable {
  var configFile: String?
  var workspace: String?
  var conversationId: String?
  var logLevel: Logger.Level?
  var maxFileBytes: Int?
  var maxInlineBytes: Int?
  var runtimeId: String?
  var vscodeURL: String?
  var vscodeToken: String?
  var webHosts: [String] = []
  var stateDirectory: String?
  var feedbackURL: String?
  var feedbackCAFile: String?
  var debounceMilliseconds: Int?

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

  /// The config file, when one was given.
  func loadConfig() throws(ConfigFileError) -> ConfigFile? {
    guard let configFile else { return nil }
    return try ConfigFile.load(path: absolutePath(configFile))
  }

  /// The dispatcher a one-shot command (`call`, `watch`) runs requests
  /// through; options it refuses are a usage error.
  func dispatcher() throws -> Dispatcher {
    let options = try bridgeOptions()
    do throws(ResponseError) {
      return try Dispatcher(options: options)
    } catch {
      throw ValidationError(error.message)
    }
  }

  /// The options for the bridge: flags, else the config file, else defaults.
  func bridgeOptions() throws -> BridgeOptions {
    let config = try loadConfig() ?? ConfigFile()
    var options = BridgeOptions(
      workspace: workspace ?? config.workspace ?? FileManager.default.currentDirectoryPath)
    options.conversationId = conversationId ?? config.conversationId
    options.maxFileBytes = maxFileBytes ?? config.maxFileBytes ?? options.maxFileBytes
    options.maxInlineBytes = maxInlineBytes ?? config.maxInlineBytes ?? options.maxInlineBytes
    options.runtime.runtimeId = runtimeId ?? config.runtimeId
    options.runtime.vscodeURL = vscodeURL ?? config.vscodeURL
    options.runtime.vscodeToken = vscodeToken ?? config.vscodeToken
    options.runtime.webHosts = webHosts.isEmpty ? config.webHosts ?? [] : try parsedWebHosts()
    options.stateDirectory = stateDirectory.map(absolutePath) ?? config.stateDirectory
    options.feedbackURL = feedbackURL ?? config.feedbackURL
    options.feedbackCAFile = feedbackCAFile.map(absolutePath) ?? config.feedbackCAFile
    options.conversations = config.conversations
    if let milliseconds = debounceMilliseconds ?? config.debounceMilliseconds {
      guard milliseconds <= 60_000 else { throw ValidationError("debounce-ms must be at most 60000") }
      options.debounce = .milliseconds(milliseconds)
    }
    return options
  }

  /// `--log-level`, else the config file's, else warning. A config file that
  /// cannot be read is reported by `bridgeOptions()`, not here.
  var resolvedLogLevel: Logger.Level {
    if let logLevel { return logLevel }
    if let name = (try? loadConfig())??.logLevel, let level = Logger.Level(rawValue: name) { return level }
    return .warning
  }

  func bootstrapLogging() {
    let level = resolvedLogLevel
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A path from the command line, made absolute against the directory the
/// command was started in, as a person typing it means. Stored state must
/// never follow a later change of directory.
func absolutePath(_ path: String) -> String {
  path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
