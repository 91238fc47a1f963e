import Foundation
import JSONRPC
import Testing

/// Every input the fuzzer (bench/fuzz.sh) found breaking a property, replayed
/// against the properties it broke. The inputs live in bench/fuzz/regressions
/// so that the fuzzer replays them too.
@Suite struct FuzzRegressionTests {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("bench/fuzz/regressions")

  static let inputs: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted()
  }()

  static func bytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: directory.appendingPathComponent(name)))
  }

  /// The configurations the fuzzer runs: real limits, and limits small
  /// enough that short inputs reach the oversized paths.
  static let configs: [(maxMessageBytes: Int, framing: Framing?)] = [
    (64 << 20, nil), (48, nil), (48, .lsp), (1 << 20, .ndjson),
  ]

  static func events(_ bytes: [UInt8], maxMessageBytes: Int, framing: Framing?, chunks: [Int]) -> [FrameEvent] {
    var parser = FrameParser(maxMessageBytes: maxMessageBytes, forcedFraming: framing)
    var out: [FrameEvent] = []
    var offset = 0
    for size in chunks {
      let end = min(bytes.count, offset + size)
      parser.append(Array(bytes[offset..<end]))
      offset = end
      while let event = parser.next() { out.append(event) }
    }
    if let last = parser.finish() { out.append(last) }
    return out
  }

  @Test func theInputsAreThere() {
    #expect(Self.inputs.count >= 1, "bench/fuzz/regressions not found at \(Self.directory.path)")
  }

  /// Whatever parses writes back as JSON that parses to the same text again.
  @Test(arguments: inputs) func parsedValuesSurviveAWrite(name: String) throws {
    let bytes = try Self.bytes(name)
    var bodies = [bytes]
    for case .message(let body, _) in Self.events(bytes, maxMessageBytes: 64 << 20, framing: nil, chunks: [bytes.count]) {
      bodies.append(body)
    }
    for body in bodies {
      guard let value = try? JSONParser.parse(body) else { continue }
      let written = JSONWriter.encode(value)
      let again = try JSONParser.parse(written)
      #expect(JSONWriter.encode(again) == written, "\(name)")
    }
  }

  // The specific findings, each as the behaviour it should have.

  /// number-out-of-range: `1e999` used to parse as infinity and be written
  /// back as `null`.
  @Test func numbersPastDoubleAreParseErrors() throws {
    for text in ["1e999", "[-1e400]", "{\"a\":123e456789}"] {
      #expect(throws: JSONParseError.self, "\(text)") { try JSONParser.parse(text) }
    }
    #expect(try JSONParser.parse("1e308") == .double(1e308))
    #expect(try JSONParser.parse("-1e-999") == .double(-0.0))  // Underflow rounds to zero: a value JSON can spell.
    #expect(try JSONParser.parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
  }
}
