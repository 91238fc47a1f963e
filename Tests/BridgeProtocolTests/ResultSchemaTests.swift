import BridgeProtocol
import Foundation
import JSONRPC
import Testing

/// Each typed result's encoding against its request's `resultSchema`: the
/// examples every `BridgeResult` carries are encoded and validated with a
/// real JSON Schema validator (`scripts/validate-results`, Python's
/// jsonschema), and their members must come in the schema's order (the
/// contract's, which is OpenHands'). A result and its schema cannot drift.
@Suite struct ResultSchemaTests {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static func examples<R: BridgeRequest>(_ request: R.Type) -> [JSONValue] { R.Result.examples.map(\.json) }

  @Test func everyResultHasExamples() {
    let withoutExamples = Registry.requests.filter { Self.examples($0).isEmpty }.map { $0.method }
    #expect(withoutExamples.isEmpty)
  }

  /// A bare `JSONValue` would let a handler answer anything: nothing would
  /// hold it to the schema. A conformance added anywhere in the program
  /// shows at run time.
  @Test func aBareJSONValueIsNoResult() {
    #expect(!((JSONValue.null as Any) is any BridgeResult))
  }

  @Test func everyExampleFitsItsResultSchema() throws {
    var samples: [JSONValue] = []
    for request in Registry.requests {
      for example in Self.examples(request) {
        samples.append(["method": .string(request.method), "result": example, "schema": request.resultSchema])
      }
    }
    #expect(samples.count >= Registry.requests.count)
    let (status, output) = try Self.validate(samples)
    #expect(status == 0, "\(output)")
  }

  @Test func everyExampleWritesItsMembersInTheSchemasOrder() {
    for request in Registry.requests {
      for example in Self.examples(request) {
        for problem in Self.orderProblems(example, request.resultSchema, at: request.method) {
          Issue.record(Comment(rawValue: problem))
        }
      }
    }
  }

  /// The validator itself must catch a result that does not fit, or the
  /// tests above prove nothing.
  @Test func theValidatorRefusesAResultThatDoesNotFit() throws {
    let (status, output) = try Self.validate([
      ["method": "gitDiff", "result": ["modified": "x"], "schema": GitDiffRequest.resultSchema]
    ])
    #expect(status == 1)
    #expect(output.contains("'original' is a required property"), "\(output)")
    #expect(Self.orderProblems(["original": "", "modified": ""], GitDiffRequest.resultSchema, at: "gitDiff").count == 1)
  }

  /// Where `value`'s object members are not in the order of `schema`'s
  /// `properties`, at any depth.
  static func orderProblems(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
    var problems: [String] = []
    if case .object(let object) = value, let properties = schema["properties"]?.objectValue {
      let named = object.keys.filter { properties[$0] != nil }
      let order = properties.keys.filter { named.contains($0) }
      if named != order { problems.append("\(path): members \(named), schema order \(order)") }
      for (key, member) in object { if let inner = properties[key] { problems += orderProblems(member, inner, at: "\(path).\(key)") } }
    }
    if case .array(let elements) = value, let items = schema["items"] {
      for (index, element) in elements.enumerated() { problems += orderProblems(element, items, at: "\(path)[\(index)]") }
    }
    return problems
  }

  /// Runs `scripts/validate-results` over `samples`: its exit status and output.
  static func validate(_ samples: [JSONValue]) throws -> (Int32, String) {
    let input = FileManager.default.temporaryDirectory.appendingPathComponent("results-\(UUID().uuidString).json")
    try Data(JSONWriter.encode(.array(samples))).write(to: input)
    defer { try? FileManager.default.removeItem(at: input) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "python3", packageRoot.appendingPathComponent("scripts/validate-results").path,
      packageRoot.appendingPathComponent("Protocol").path,
    ]
    process.standardInput = try FileHandle(forReadingFrom: input)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
  }
}
