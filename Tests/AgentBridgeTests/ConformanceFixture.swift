#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import JSONRPC

/// The directories one transcript run uses, the fixture steps that fill them
/// before the process starts, and the placeholders the other steps may name.
/// The format is described in Protocol/README.md.
///
///     $TMP/              the run's own directory ($TMP)
///       workspace/       the process's working directory and default workspace ($WORKSPACE)
///       state/           not created; for --state-dir ($STATE)
///       home/            HOME, XDG_CONFIG_HOME and XDG_STATE_HOME of the process and of git
struct ConformanceFixture {
  /// Real paths (no symlinks), as the process reports them.
  let root: String
  var workspace: String { root + "/workspace" }
  var state: String { root + "/state" }
  var home: String { root + "/home" }

  /// The steps that build files rather than talk to the process.
  static let stepKinds: Set<String> = ["files", "mkdir", "symlink", "fifo", "remove", "git"]

  struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  init() throws {
    var template = Array("/tmp/agent-bridge-conformance-XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
      throw Failure("mkdtemp failed: errno \(errno)")
    }
    let made = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    root = URL(fileURLWithPath: made).resolvingSymlinksInPath().path
    for directory in [workspace, home] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
  }

  func remove() {
    try? FileManager.default.removeItem(atPath: root)
  }

  /// What the process and git run with, so that neither reads the user's
  /// git configuration nor writes into the user's state directory.
  var environment: [String: String] {
    [
      "HOME": home, "XDG_CONFIG_HOME": home + "/.config", "XDG_STATE_HOME": home + "/.local/state",
      "GIT_CONFIG_NOSYSTEM": "1",
    ]
  }

  // MARK: Placeholders

  func substitute(_ text: String) -> String {
    guard text.contains("$") else { return text }
    return text.replacingOccurrences(of: "$WORKSPACE", with: workspace)
      .replacingOccurrences(of: "$STATE", with: state)
      .replacingOccurrences(of: "$TMP", with: root)
  }

  /// Every string (and member name) of `value` with its placeholders replaced.
  func substitute(_ value: JSONValue) -> JSONValue {
    switch value {
    case .string(let text): return .string(substitute(text))
    case .array(let elements): return .array(elements.map { substitute($0) })
    case .object(let object):
      return .object(JSONObject(object.members.map { (key: substitute($0.key), value: substitute($0.value)) }))
    default: return value
    }
  }

  // MARK: Fixture steps

  /// Applies `step` when it is a fixture step; false when it is another kind.
  func apply(_ step: JSONValue) throws -> Bool {
    guard let kind = step.objectValue?.keys.first(where: Self.stepKinds.contains), let body = step[kind] else {
      return false
    }
    let base = step["in"]?.stringValue.map { path(substitute($0), in: workspace) } ?? workspace
    try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    switch kind {
    case "files":
      guard let files = body.objectValue else { throw Failure("files: expected an object") }
      for (name, content) in files {
        let target = path(name, in: base)
        try makeParent(of: target)
        let bytes: [UInt8]
        if let text = content.stringValue {
          bytes = Array(substitute(text).utf8)
        } else if let encoded = content["base64"]?.stringValue, let data = Data(base64Encoded: encoded) {
          bytes = Array(data)
        } else if let unit = content["repeat"]?.stringValue, let times = content["times"]?.intValue, times >= 0 {
          bytes = Array(repeating: Array(unit.utf8), count: Int(times)).flatMap { $0 }
        } else {
          throw Failure("files: \(name): expected a string, {\"base64\": ...} or {\"repeat\": ..., \"times\": N}")
        }
        try Data(bytes).write(to: URL(fileURLWithPath: target))
      }
    case "mkdir":
      for name in try strings(body, kind) {
        try FileManager.default.createDirectory(atPath: path(name, in: base), withIntermediateDirectories: true)
      }
    case "symlink":
      guard let links = body.objectValue else { throw Failure("symlink: expected an object") }
      for (name, target) in links {
        guard let target = target.stringValue else { throw Failure("symlink: \(name): expected a string") }
        let link = path(name, in: base)
        try makeParent(of: link)
        guard symlink(substitute(target), link) == 0 else { throw Failure("symlink \(link): errno \(errno)") }
      }
    case "remove":
      for name in try strings(body, kind) {
        try FileManager.default.removeItem(atPath: path(name, in: base))
      }
    case "fifo":
      for name in try strings(body, kind) {
        let fifo = path(name, in: base)
        try makeParent(of: fifo)
        guard mkfifo(fifo, 0o644) == 0 else { throw Failure("mkfifo \(fifo): errno \(errno)") }
      }
    case "git":
      guard let commands = body.arrayValue else { throw Failure("git: expected an array of argument arrays") }
      for command in commands {
        try git(try strings(command, kind).map(substitute), in: base, mayFail: step["mayFail"] == true)
      }
    default:
      return false
    }
    return true
  }

  /// `name` (placeholders replaced) against `base` unless it is absolute.
  private func path(_ name: String, in base: String) -> String {
    let name = substitute(name)
    return name.hasPrefix("/") ? name : base + "/" + name
  }

  private func makeParent(of path: String) throws {
    let parent = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
  }

  private func strings(_ value: JSONValue, _ kind: String) throws -> [String] {
    guard let array = value.arrayValue else { throw Failure("\(kind): expected an array of strings") }
    return try array.map {
      guard let string = $0.stringValue else { throw Failure("\(kind): expected an array of strings") }
      return string
    }
  }

  /// Runs the git CLI with a fixed identity, date and default branch, so
  /// commits (and their ids) are the same on every run.
  /// With `mayFail` a non-zero exit is accepted (a merge that conflicts).
  private func git(_ arguments: [String], in directory: String, mayFail: Bool) throws {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
    environment.merge(self.environment) { $1 }
    environment.merge([
      "GIT_AUTHOR_NAME": "Conformance", "GIT_AUTHOR_EMAIL": "conformance@example.invalid",
      "GIT_COMMITTER_NAME": "Conformance", "GIT_COMMITTER_EMAIL": "conformance@example.invalid",
      "GIT_AUTHOR_DATE": "2001-02-03T04:05:06Z", "GIT_COMMITTER_DATE": "2001-02-03T04:05:06Z",
      "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "init.defaultBranch", "GIT_CONFIG_VALUE_0": "main",
    ]) { $1 }
    let result = try Program.run("/usr/bin/env", ["git"] + arguments, in: directory, environment: environment)
    guard result.status == 0 || mayFail else {
      throw Failure("git \(arguments.joined(separator: " ")) failed: \(result.errors)")
    }
  }
}

/// How a reply is compared with an `expect` step's pattern.
enum ConformancePattern {
  /// Every member the pattern names is in `actual` with a matching value,
  /// recursively; arrays have the same length and match element by
  /// element; numbers compare by value. Special patterns (an object with
  /// just this member):
  /// - `{"$type": "string"}` (or integer, number, boolean, array, object,
  ///   null): any value of that type;
  /// - `{"$regex": "^[0-9a-f]{32}$"}`: a string the regular expression
  ///   finds a match in;
  /// - `{"$exactly": VALUE}`: VALUE with no members left unchecked, at any
  ///   depth (for `{}` and for results whose every member is fixed);
  /// - `{"$zipEntries": [NAMES]}`: a base64 string holding a ZIP whose
  ///   entry names are NAMES, in any order.
  static func matches(_ actual: JSONValue, _ pattern: JSONValue, exactly: Bool = false) -> Bool {
    if case .object(let wanted) = pattern, wanted.count == 1, let special = wanted.members.first,
      special.key.hasPrefix("$")
    {
      switch (special.key, actual) {
      case ("$type", _):
        return special.value.stringValue.map { hasType(actual, $0) } ?? false
      case ("$regex", .string(let text)):
        guard let expression = special.value.stringValue else { return false }
        return text.range(of: expression, options: .regularExpression) != nil
      case ("$exactly", _):
        return matches(actual, special.value, exactly: true)
      case ("$zipEntries", .string(let text)):
        guard let data = Data(base64Encoded: text), let names = zipEntryNames(Array(data)) else { return false }
        return names.sorted() == (special.value.arrayValue?.compactMap(\.stringValue) ?? []).sorted()
      default:
        return false
      }
    }
    switch (actual, pattern) {
    case (.object(let object), .object(let wanted)):
      if exactly, object.count != wanted.count { return false }
      return wanted.allSatisfy { key, value in object[key].map { matches($0, value, exactly: exactly) } ?? false }
    case (.array(let elements), .array(let wanted)):
      return elements.count == wanted.count && zip(elements, wanted).allSatisfy { matches($0, $1, exactly: exactly) }
    case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
      return actual.doubleValue == pattern.doubleValue
    default:
      return actual == pattern
    }
  }

  static func hasType(_ value: JSONValue, _ name: String) -> Bool {
    switch (value, name) {
    case (.string, "string"), (.bool, "boolean"), (.array, "array"), (.object, "object"), (.null, "null"),
      (.int, "number"), (.double, "number"), (.int, "integer"):
      true
    case (.double(let number), "integer"): number.rounded() == number
    default: false
    }
  }

  /// The names in a ZIP's central directory (read from the end-of-central-
  /// directory record, which is enough for the small archives transcripts
  /// make); nil when `bytes` is not such an archive.
  static func zipEntryNames(_ bytes: [UInt8]) -> [String]? {
    func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
    guard bytes.count >= 22 else { return nil }
    guard let end = stride(from: bytes.count - 22, through: 0, by: -1).first(where: { le32($0) == 0x0605_4B50 })
    else { return nil }
    let count = le16(end + 10)
    var offset = le32(end + 16)
    var names: [String] = []
    for _ in 0..<count {
      guard offset + 46 <= bytes.count, le32(offset) == 0x0201_4B50 else { return nil }
      let nameLength = le16(offset + 28)
      let extraLength = le16(offset + 30)
      let commentLength = le16(offset + 32)
      guard offset + 46 + nameLength <= bytes.count else { return nil }
      names.append(String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self))
      offset += 46 + nameLength + extraLength + commentLength
    }
    return names
  }
}
