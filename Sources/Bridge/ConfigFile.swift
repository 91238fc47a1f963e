import Support
import JSONRPC

/// `--config FILE`: a JSON object holding any of the common options, under
/// their long flag names, plus more conversations to open at start:
///
///     {
///       "workspace": "~/project",
///       "runtime-id": "rt-1",
///       "vscode-url": "http://localhost:8080", "vscode-token": "secret",
///       "web-hosts": {"http://localhost:5173": 5173},
///       "state-dir": "/var/lib/agent-bridge",
///       "conversations": [
///         {"conversation-id": "review", "workspace": "../other", "runtime-id": "rt-2"}
///       ]
///     }
///
/// Relative paths are relative to the file's directory; `~/` is the home
/// directory. Unknown keys are errors (a typo must not be silently ignored).
/// Every error names the file, the line and column, and the key.
public struct ConfigFile: Sendable {
  public var workspace: String?
  public var conversationId: String?
  public var logLevel: String?
  public var maxFileBytes: Int?
  public var maxInlineBytes: Int?
  /// Subscriptions' coalescing window (`--debounce-ms`).
  public var debounceMilliseconds: Int?
  /// The default conversation's runtime facts (also given to conversations
  /// opened later with openConversation).
  public var runtimeId: String?
  public var vscodeURL: String?
  public var vscodeToken: String?
  public var webHosts: [(url: String, port: Int)]?
  public var stateDirectory: String?
  public var feedbackURL: String?
  public var feedbackCAFile: String?
  public var conversations: [ConversationConfig] = []

  public init() {}

  public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

  static let topLevelKeys = [
    "workspace", "conversation-id", "log-level", "max-file-bytes", "max-inline-bytes", "runtime-id", "vscode-url",
    "vscode-token", "web-hosts", "state-dir", "feedback-url", "feedback-ca-file", "debounce-ms",
    "conversations",
  ]
  static let conversationKeys = [
    "conversation-id", "workspace", "runtime-id", "vscode-url", "vscode-token", "web-hosts",
  ]

  /// Reads and checks a config file.
  public static func load(path: String) throws(ConfigFileError) -> ConfigFile {
    let bytes: [UInt8]
    switch readFile(path) {
    case .success(let read): bytes = read
    case .failure(let error):
      throw ConfigFileError(file: path, line: nil, column: nil, key: nil, message: String(cString: strerror(error.errno)))
    }
    return try parse(bytes, file: path, baseDirectory: AppendOnlyLog.parent(of: path))
  }

  /// Parses config text; `file` names it in errors and relative paths are
  /// taken from `baseDirectory`.
  public static func parse(_ bytes: [UInt8], file: String, baseDirectory: String) throws(ConfigFileError) -> ConfigFile {
    // Where each key is, so that errors found after parsing point at a
    // line, and a syntax error names the key nearest before it.
    var keys = JSONParser.KeyLocations()
    let root: JSONValue
    do {
      root = try JSONParser.parse(bytes, locatingKeys: &keys)
    } catch {
      let (line, column) = lineAndColumn(bytes, error.offset)
      throw ConfigFileError(
        file: file, line: line, column: column, key: keys.lastKey, message: "not valid JSON: \(error.reason)")
    }
    var reader = Reader(bytes: bytes, file: file, base: baseDirectory, locations: keys.offsets)
    return try reader.read(root)
  }

  /// Line and column (1-based, the column in characters) of a byte offset.
  static func lineAndColumn(_ bytes: [UInt8], _ offset: Int) -> (Int, Int) {
    var line = 1
    var column = 1
    for byte in bytes[0..<min(offset, bytes.count)] {
      if byte == 0x0A {
        line += 1
        column = 1
      } else if byte & 0xC0 != 0x80 {
        // Count characters, not UTF-8 continuation bytes.
        column += 1
      }
    }
    return (line, column)
  }

  private static func readFile(_ path: String) -> Result<[UInt8], SystemError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(SystemError(errno)) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return .failure(SystemError(EISDIR)) }
    return FileDescriptor.readAll(fd, expected: Int(info.st_size)).mapError { SystemError($0.code) }
  }

  /// Checks the parsed value member by member, knowing where each key is.
  private struct Reader {
    let bytes: [UInt8]
    let file: String
    let base: String
    let locations: [String: Int]

    func fail(_ key: String, _ message: String) -> ConfigFileError {
      let (line, column) = locations[key].map { ConfigFile.lineAndColumn(bytes, $0) } ?? (1, 1)
      return ConfigFileError(file: file, line: line, column: column, key: key, message: message)
    }

    func object(_ value: JSONValue, _ key: String, allowed: [String]) throws(ConfigFileError) -> JSONObject {
      guard case .object(let object) = value else {
        throw fail(key, "must be an object, not \(value.typeName)")
      }
      for member in object where !allowed.contains(member.key) {
        let path = key.isEmpty ? member.key : "\(key).\(member.key)"
        throw fail(path, "unknown key (known: \(allowed.joined(separator: ", ")))")
      }
      return object
    }

    func string(_ object: JSONObject, _ key: String, at path: String) throws(ConfigFileError) -> String? {
      guard let value = object[key], !value.isNull else { return nil }
      guard case .string(let string) = value else { throw fail(path, "must be a string, not \(value.typeName)") }
      return string
    }

    func path(_ object: JSONObject, _ key: String, at path: String) throws(ConfigFileError) -> String? {
      guard let raw = try string(object, key, at: path) else { return nil }
      guard !raw.isEmpty else { throw fail(path, "must not be empty") }
      if raw == "~" || raw.hasPrefix("~/") {
        guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else {
          throw fail(path, "uses ~ but HOME is not set")
        }
        return home + raw.dropFirst()
      }
      return raw.hasPrefix("/") ? raw : "\(base)/\(raw)"
    }

    func positive(_ object: JSONObject, _ key: String) throws(ConfigFileError) -> Int? {
      guard let value = object[key], !value.isNull else { return nil }
      guard case .int(let int) = value, int > 0, int <= Int64(Int.max) else {
        throw fail(key, "must be a positive integer, not \(JSONWriter.string(value))")
      }
      return Int(int)
    }

    func webHosts(_ object: JSONObject, at path: String) throws(ConfigFileError) -> [(url: String, port: Int)]? {
      guard let value = object["web-hosts"], !value.isNull else { return nil }
      guard case .object(let hosts) = value else {
        throw fail(path, "must be an object of URL to port, like {\"http://localhost:5173\": 5173}")
      }
      var result: [(url: String, port: Int)] = []
      for host in hosts {
        guard !host.key.isEmpty, case .int(let port) = host.value, (0...65535).contains(port) else {
          throw fail("\(path).\(host.key)", "the port must be an integer from 0 to 65535")
        }
        result.append((url: host.key, port: Int(port)))
      }
      return result
    }

    func runtime(_ object: JSONObject, at prefix: String) throws(ConfigFileError) -> RuntimeFacts {
      var facts = RuntimeFacts()
      facts.runtimeId = try string(object, "runtime-id", at: prefix + "runtime-id")
      facts.vscodeURL = try string(object, "vscode-url", at: prefix + "vscode-url")
      facts.vscodeToken = try string(object, "vscode-token", at: prefix + "vscode-token")
      facts.webHosts = try webHosts(object, at: prefix + "web-hosts") ?? []
      return facts
    }

    mutating func read(_ root: JSONValue) throws(ConfigFileError) -> ConfigFile {
      let top = try object(root, "", allowed: ConfigFile.topLevelKeys)
      var config = ConfigFile()
      config.workspace = try path(top, "workspace", at: "workspace")
      config.conversationId = try string(top, "conversation-id", at: "conversation-id")
      if let level = try string(top, "log-level", at: "log-level") {
        guard ConfigFile.logLevels.contains(level) else {
          throw fail("log-level", "must be one of \(ConfigFile.logLevels.joined(separator: ", "))")
        }
        config.logLevel = level
      }
      config.maxFileBytes = try positive(top, "max-file-bytes")
      config.maxInlineBytes = try positive(top, "max-inline-bytes")
      config.debounceMilliseconds = try positive(top, "debounce-ms")
      config.runtimeId = try string(top, "runtime-id", at: "runtime-id")
      config.vscodeURL = try string(top, "vscode-url", at: "vscode-url")
      config.vscodeToken = try string(top, "vscode-token", at: "vscode-token")
      config.webHosts = try webHosts(top, at: "web-hosts")
      config.stateDirectory = try path(top, "state-dir", at: "state-dir")
      config.feedbackURL = try string(top, "feedback-url", at: "feedback-url")
      config.feedbackCAFile = try path(top, "feedback-ca-file", at: "feedback-ca-file")
      if let list = top["conversations"], !list.isNull {
        guard case .array(let entries) = list else {
          throw fail("conversations", "must be an array of objects, not \(list.typeName)")
        }
        for (index, entry) in entries.enumerated() {
          let at = "conversations[\(index)]"
          let conversation = try object(entry, at, allowed: ConfigFile.conversationKeys)
          guard let workspace = try path(conversation, "workspace", at: "\(at).workspace") else {
            throw fail(at, "needs a \"workspace\"")
          }
          config.conversations.append(
            ConversationConfig(
              id: try string(conversation, "conversation-id", at: "\(at).conversation-id"), workspace: workspace,
              runtime: try runtime(conversation, at: "\(at).")))
        }
      }
      return config
    }
  }
}

struct SystemError: Error {
  var errno: Int32
  init(_ errno: Int32) { self.errno = errno }
}

/// A config file that cannot be used: `FILE:LINE:COLUMN: key "K": why`.
public struct ConfigFileError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var column: Int?
  public var key: String?
  public var message: String

  public var description: String {
    var text = file
    if let line { text += ":\(line)" }
    if let column { text += ":\(column)" }
    text += ": "
    if let key { text += "key \"\(key)\": " }
    return text + message
  }
}
