import Foundation
import JSONRPC
import TestSupport

/// Pairs the replies of a conformance run with the methods of the requests
/// they answer, then holds every result to `Protocol/schemas/<method>.result.json`,
/// every error to its documented `data` and every server notification to
/// its params schema, through a real JSON Schema
/// validator (`scripts/validate-results`, Python's jsonschema). The
/// transcripts' own patterns check only what they name; this checks the
/// whole of each answer against what `Protocol/` promises.
struct ReplySchemaCheck {
  /// Methods of requests sent and not yet answered, per id (JSON text, so
  /// `1` and `"1"` differ), oldest first: a transcript may reuse an id.
  /// While two share an id (a duplicate in flight answers -32600, perhaps
  /// first) a reply's method is ambiguous, so its result is not checked.
  private var pending: [String: (methods: [String], ambiguous: Bool)] = [:]
  private(set) var samples: [JSONValue] = []

  mutating func sent(_ message: JSONValue) {
    for request in message.arrayValue ?? [message] {
      guard let id = request["id"], !id.isNull, let method = request["method"]?.stringValue else { continue }
      var entry = pending[id.description] ?? (methods: [], ambiguous: false)
      entry.methods.append(method)
      entry.ambiguous = entry.ambiguous || entry.methods.count > 1
      pending[id.description] = entry
    }
  }

  mutating func received(_ message: JSONValue) {
    for reply in message.arrayValue ?? [message] {
      if let method = reply["method"] {
        samples.append(["notification": method, "params": reply["params"] ?? .null])
        continue
      }
      var method: String?
      if let id = reply["id"], !id.isNull, var entry = pending[id.description], !entry.methods.isEmpty {
        if !entry.ambiguous { method = entry.methods[0] }
        entry.methods.removeFirst()
        pending[id.description] = entry.methods.isEmpty ? nil : entry
      }
      var sample: JSONObject = [:]
      if let method { sample.members.append((key: "method", value: .string(method))) }
      if let result = reply["result"] {
        guard method != nil else { continue }
        sample.members.append((key: "result", value: result))
      } else if let error = reply["error"] {
        sample.members.append((key: "error", value: error))
      } else {
        continue
      }
      samples.append(.object(sample))
    }
  }

  /// Runs the validator over what was received; the failures it prints,
  /// or nil when every reply fits.
  func failures() throws -> String? {
    let run = try Program.run(
      "/usr/bin/env",
      ["python3", packageRoot.appendingPathComponent("scripts/validate-results").path,
       packageRoot.appendingPathComponent("Protocol").path],
      input: Data(JSONWriter.encode(.array(samples))))
    return run.status == 0 ? nil : run.allOutput
  }
}
