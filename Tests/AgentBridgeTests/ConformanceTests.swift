import BridgeProtocol
import Foundation
import JSONRPC
import TestSupport
import Testing

/// The package root, found from this file.
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// Replays every `Protocol/conformance/*.jsonl` transcript through the real
/// process, once per framing. The format is described in Protocol/README.md.
@Suite struct ConformanceTests {
  static var transcripts: [String] {
    let directory = packageRoot.appendingPathComponent("Protocol/conformance").path
    return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
      .filter { $0.hasSuffix(".jsonl") }.sorted()
  }

  @Test func thereAreTranscripts() {
    #expect(Self.transcripts.count >= 5)
  }

  /// Methods whose success no transcript can pin down, and why.
  static let resultsNoTranscriptShows: [String: String] = [
    "unsubscribe": "its subscriptionId comes from subscribe's reply, which a transcript cannot name"
  ]

  /// The schema check in `replay` holds only results some transcript
  /// produces, so every method needs one (SubscriptionProcessTests covers
  /// unsubscribe).
  @Test func everyMethodHasATranscriptThatExpectsItsResult() throws {
    var shown = Set<String>()
    for name in Self.transcripts {
      let path = packageRoot.appendingPathComponent("Protocol/conformance/\(name)").path
      var methods: [String: String] = [:]  // by id, as JSON text
      for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
        let step = try JSONParser.parse(String(line))
        for request in step["send"].map({ $0.arrayValue ?? [$0] }) ?? [] {
          if let id = request["id"], let method = request["method"]?.stringValue {
            methods[id.description] = method
          }
        }
        for reply in step["expect"].map({ $0.arrayValue ?? [$0] }) ?? [] {
          if reply["result"] != nil, let id = reply["id"], let method = methods[id.description] {
            shown.insert(method)
          }
        }
      }
    }
    let missing = Set(Registry.requests.map { $0.method }).subtracting(shown)
    #expect(missing == Set(Self.resultsNoTranscriptShows.keys), "methods no transcript shows answering")
  }

  @Test(arguments: transcripts, [Framing.lsp, Framing.ndjson])
  func replay(_ name: String, _ framing: Framing) async throws {
    let path = packageRoot.appendingPathComponent("Protocol/conformance/\(name)").path
    let steps = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").enumerated().map {
      (line: $0.offset + 1, step: try JSONParser.parse(String($0.element)))
    }
    var arguments: [String] = []
    var framings = [Framing.lsp, Framing.ndjson]
    for (_, step) in steps {
      if let args = step["args"]?.arrayValue { arguments = args.compactMap(\.stringValue) }
      if let only = step["framings"]?.arrayValue { framings = framings.filter { only.contains(.string($0.rawValue)) } }
    }
    guard framings.contains(framing) else { return }
    // Results do not depend on the framing: one run per transcript is
    // held to the schemas.
    var schemaCheck = framing == framings.first ? ReplySchemaCheck() : nil
    // The workspace is built before the process starts, fixture steps in
    // the order they are written, wherever they stand.
    let fixture = try ConformanceFixture()
    defer { fixture.remove() }
    for (line, step) in steps {
      do {
        _ = try fixture.apply(step)
      } catch {
        Issue.record("\(name):\(line): fixture step failed: \(error)")
        return
      }
    }
    let bridge = try BridgeProcess(
      arguments.map(fixture.substitute), directory: fixture.workspace, environment: fixture.environment)
    let client = bridge.client
    var pool: [(message: JSONValue, framing: Framing)] = []
    var sentIds = Set<String>()
    var exitCode: Int32?

    for (line, step) in steps {
      let at = "\(name):\(line) (\(framing))"
      if let written = step["send"] {
        let message = fixture.substitute(written)
        if let id = message["id"], !id.isNull { sentIds.insert(id.description) }
        schemaCheck?.sent(message)
        client.send(message, framing: framing)
      } else if let raw = step["sendRaw"]?.stringValue {
        client.sendRaw(raw)
      } else if let bytes = step["sendBytes"]?.arrayValue {
        client.sendRaw(bytes.compactMap { $0.intValue.map { UInt8($0) } })
      } else if step["close"] == true {
        client.closeInput()
      } else if let code = step["exitCode"]?.intValue {
        exitCode = Int32(code)
      } else if let pattern = step["expect"] {
        let expected = fixture.substitute(pattern)
        // Read until a reply fits; replies for later expectations wait.
        while true {
          if let index = pool.firstIndex(where: { Self.fits($0.message, expected) }) {
            let (reply, replyFraming) = pool.remove(at: index)
            if let wanted = step["framing"]?.stringValue {
              #expect(replyFraming.rawValue == wanted, "\(at): framing of \(reply)")
            } else if let id = reply["id"], sentIds.contains(id.description) {
              #expect(replyFraming == framing, "\(at): a reply uses the framing of its request")
            }
            break
          }
          // A reply with the expected id that does not fit is a failure
          // now, not after the read times out waiting for another.
          if let id = expected["id"], !id.isNull,
            let index = pool.firstIndex(where: { $0.message.arrayValue == nil && $0.message["id"] == id })
          {
            Issue.record("\(at): reply \(pool.remove(at: index).message) does not fit \(expected)")
            break
          }
          let next: (message: JSONValue, framing: Framing)?
          do {
            next = try await client.next()
          } catch {
            Issue.record("\(at): \(error); expected \(expected); unmatched: \(pool.map(\.message))")
            return
          }
          guard let next else {
            Issue.record("\(at): output ended; expected \(expected); unmatched: \(pool.map(\.message))")
            return
          }
          schemaCheck?.received(next.message)
          pool.append(next)
        }
      } else if !Self.isKnownStep(step) {
        Issue.record("\(at): unknown step \(step)")
      }
    }
    // Exactly one reply per request: nothing may be left over.
    if exitCode == nil { client.closeInput() }
    let rest = try await client.drain()
    for message in rest { schemaCheck?.received(message) }
    if let schemaCheck, let failures = try schemaCheck.failures() {
      Issue.record("\(name): replies that do not fit Protocol/ (scripts/validate-results):\n\(failures)")
    }
    #expect(pool.isEmpty && rest.isEmpty, "\(name) (\(framing)): unexpected replies \(pool.map(\.message) + rest)")
    #expect(try bridge.waitForExit() == exitCode ?? 0, "\(name) (\(framing)): exit code; stderr: \(bridge.stderr)")
  }

  /// Steps the replay loop does not act on: set-up and comments. Anything
  /// else is a typo that would otherwise make a step silently vanish.
  static func isKnownStep(_ step: JSONValue) -> Bool {
    guard let keys = step.objectValue?.keys else { return false }
    return keys.contains { ["args", "framings", "comment"].contains($0) || ConformanceFixture.stepKinds.contains($0) }
  }

  /// Whether `reply` is the one `expected` describes: same id (when the
  /// expectation has one), and every member of the expectation present.
  /// Batch replies are matched element by element in any order.
  static func fits(_ reply: JSONValue, _ expected: JSONValue) -> Bool {
    if case .array(let wanted) = expected {
      guard case .array(var actual) = reply, actual.count == wanted.count else { return false }
      for pattern in wanted {
        guard let index = actual.firstIndex(where: { fits($0, pattern) }) else { return false }
        actual.remove(at: index)
      }
      return true
    }
    if reply.arrayValue != nil { return false }
    let wantedId = expected["id"] ?? .null
    let actualId = reply["id"] ?? .null
    guard wantedId == actualId else { return false }
    return ConformancePattern.matches(reply, expected)
  }
}

/// `Protocol/openrpc.json` and `Protocol/schemas/` are generated from the
/// registry (`agent-bridge openrpc --write Protocol`); these fail until they
/// are regenerated after a method changes.
@Suite struct ProtocolDocumentTests {
  func runOpenRPC() async throws -> String {
    let bridge = try BridgeProcess(["openrpc"])
    bridge.client.closeInput()
    let output = try await bridge.client.readToEnd()
    #expect(try bridge.waitForExit() == 0)
    return String(decoding: output, as: UTF8.self)
  }

  static let regenerate = "regenerate with: .build/debug/agent-bridge openrpc --write Protocol"

  @Test func openrpcJSONIsWhatTheRegistryGenerates() async throws {
    let committed = try String(
      contentsOf: packageRoot.appendingPathComponent("Protocol/openrpc.json"), encoding: .utf8)
    let generated = try await runOpenRPC()
    #expect(committed == generated, "Protocol/openrpc.json is stale; \(Self.regenerate)")
    let methods = try JSONParser.parse(committed)["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
    #expect(methods == Registry.requests.map { $0.method }, Comment(rawValue: Self.regenerate))
  }

  @Test func schemasAreWhatTheRegistryGenerates() throws {
    let directory = packageRoot.appendingPathComponent("Protocol/schemas")
    let files = OpenRPC.schemaFiles()
    let present = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
    #expect(present == Set(files.map(\.name)), Comment(rawValue: Self.regenerate))
    for file in files {
      let text = try? String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
      #expect(text == JSONWriter.pretty(file.document), "\(file.name) is stale; \(Self.regenerate)")
    }
  }

  @Test func rpcDiscoverAnswersTheCommittedDocument() async throws {
    let committed = try JSONParser.parse(
      try String(contentsOf: packageRoot.appendingPathComponent("Protocol/openrpc.json"), encoding: .utf8))
    let bridge = try BridgeProcess()
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"# + "\n")
    #expect(try await bridge.client.expectMessage()["result"] == committed)
  }

  @Test func everyContractErrorCodeIsDocumented() throws {
    let committed = try JSONParser.parse(
      try String(contentsOf: packageRoot.appendingPathComponent("Protocol/openrpc.json"), encoding: .utf8))
    let codes = Set(committed["components"]?["errors"]?.objectValue?.compactMap { $0.value["code"]?.intValue } ?? [])
    let contract: Set<Int64> = [
      -32700, -32600, -32601, -32602, -32603, -32002, -32800, -32001, -32010, -32011, -32012, -32013, -32014,
      -32015, -32016, -32017,
    ]
    #expect(codes == contract)
  }
}
