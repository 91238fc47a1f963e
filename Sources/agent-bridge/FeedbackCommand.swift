import ArgumentParser
import Bridge
import BridgeProtocol
import Foundation
import JSONRPC

/// `agent-bridge feedback list|show`: read the feedback store as a person.
struct FeedbackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "feedback",
    abstract: "Read the feedback that submitFeedback stored.",
    discussion: """
      Records live in STATE_DIR/feedback.jsonl, one JSON object per line \
      (STATE_DIR: --state-dir, the config file's state-dir, $XDG_STATE_HOME/agent-bridge \
      or ~/.local/state/agent-bridge). With --feedback-url, deliveries are marked in \
      STATE_DIR/feedback-delivered.jsonl. Lines torn by a crash are skipped and counted.
      """,
    subcommands: [List.self, Show.self],
    defaultSubcommand: List.self
  )

  /// Only the options that locate the store matter here.
  struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("A config file (its state-dir is used).", valueName: "file"))
    var configFile: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The state directory.", valueName: "dir"))
    var stateDirectory: String?

    func store() throws -> FeedbackStore {
      let config = try configFile.map { path throws(ConfigFileError) in try ConfigFile.load(path: absolutePath(path)) }
      return FeedbackStore(
        directory: stateDirectory.map(absolutePath) ?? config?.stateDirectory ?? FeedbackStore.defaultDirectory())
    }
  }

  struct List: ParsableCommand {
    // Named here: deriving a name from the type's is a String(describing:)
    // of its metadata, which every parse of the command tree paid.
    static let configuration = CommandConfiguration(
      commandName: "list",
      abstract: "One line per record: id, time, polarity, permissions, delivery, email, feedback.")

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the records as JSON lines instead.")
    var json = false

    func run() throws {
      let store = try store.store()
      let (records, skipped) = try read(store)
      let deliveries = try catching { () throws(ResponseError) in try store.readDeliveries() }
      for record in records {
        if json {
          print(JSONWriter.string(record))
          continue
        }
        let id = record["feedback_id"]?.stringValue ?? ""
        let delivery = deliveries[id].map { "\($0.outcome.rawValue) (\($0.httpStatus))" } ?? "-"
        let fields = [
          id, record["created_at"]?.stringValue ?? "", record["polarity"]?.stringValue ?? "",
          record["permissions"]?.stringValue ?? "", delivery, record["email"]?.stringValue ?? "",
          oneLine(record["feedback"]?.stringValue ?? "", limit: 60),
        ]
        print(fields.map { $0.isEmpty ? "-" : $0 }.joined(separator: "\t"))
      }
      reportSkipped(skipped, store)
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show", abstract: "Print one record (pretty JSON); an id prefix will do.")

    @OptionGroup var store: StoreOptions

    @Argument(help: "The feedback_id, or a unique prefix of it.")
    var id: String

    func run() throws {
      let store = try store.store()
      let (records, skipped) = try read(store)
      let matches = records.filter { $0["feedback_id"]?.stringValue?.hasPrefix(id) == true }
      reportSkipped(skipped, store)
      guard matches.count == 1 else {
        throw ValidationError(
          matches.isEmpty ? "No feedback record \(id) in \(store.recordsPath)" : "\(id) matches \(matches.count) records")
      }
      var record = matches[0].objectValue ?? JSONObject()
      if let delivery = try catching({ () throws(ResponseError) in try store.readDeliveries() })[id(of: matches[0])] {
        record["delivery"] = [
          "outcome": .string(delivery.outcome.rawValue), "status": .int(Int64(delivery.httpStatus)),
          "at": .string(delivery.at),
        ]
      }
      print(JSONWriter.pretty(.object(record)), terminator: "")
    }

    private func id(of record: JSONValue) -> String { record["feedback_id"]?.stringValue ?? "" }
  }
}

private func read(_ store: FeedbackStore) throws -> (records: [JSONValue], skipped: Int) {
  try catching { () throws(ResponseError) in try store.readRecords() }
}

/// Store errors are ResponseErrors; here they are just messages.
private func catching<T>(_ body: () throws(ResponseError) -> T) throws -> T {
  do { return try body() } catch { throw ValidationError(error.message) }
}

private func reportSkipped(_ skipped: Int, _ store: FeedbackStore) {
  guard skipped > 0 else { return }
  FileHandle.standardError.write(
    Data("agent-bridge: skipped \(skipped) torn or unreadable line(s) in \(store.recordsPath)\n".utf8))
}

private func oneLine(_ text: String, limit: Int) -> String {
  let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
  return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
}
