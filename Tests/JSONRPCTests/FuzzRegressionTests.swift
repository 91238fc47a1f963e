import Foundation
import JSONRPC
import Synchronization
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
    #expect(Self.inputs.count >= 6, "bench/fuzz/regressions not found at \(Self.directory.path)")
  }

  /// Split anywhere, in two, or byte by byte: the same events.
  @Test(arguments: inputs) func chunkingDoesNotChangeTheEvents(name: String) throws {
    let bytes = try Self.bytes(name)
    for config in Self.configs {
      let whole = Self.events(bytes, maxMessageBytes: config.maxMessageBytes, framing: config.framing, chunks: [bytes.count])
      // Every cut for short inputs; for long ones a spread of cuts plus each
      // one around the header-line limit.
      let limit = FrameParser.maxHeaderBytes
      let cuts =
        bytes.count <= 512
        ? Array(0...bytes.count)
        : Array(stride(from: 0, through: bytes.count, by: bytes.count / 61 + 1))
          + (bytes.count > limit - 16 ? Array((limit - 16)...min(bytes.count, limit + 32)) : [])
      for cut in cuts {
        let split = Self.events(
          bytes, maxMessageBytes: config.maxMessageBytes, framing: config.framing, chunks: [cut, bytes.count - cut])
        #expect(split == whole, "\(name), limit \(config.maxMessageBytes), cut at \(cut)")
      }
      let single = Self.events(
        bytes, maxMessageBytes: config.maxMessageBytes, framing: config.framing,
        chunks: Array(repeating: 1, count: bytes.count))
      #expect(single == whole, "\(name), limit \(config.maxMessageBytes), byte by byte")
    }
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

  static func feed(_ text: String, limit: Int, chunks: [Int]? = nil) -> [FrameEvent] {
    let bytes = Array(text.utf8)
    return events(bytes, maxMessageBytes: limit, framing: nil, chunks: chunks ?? [bytes.count])
  }

  /// ndjson-oversize-length-depends-on-chunking: a JSON line over the limit
  /// reported its length when it came in one read and none when it did not.
  @Test func anOversizedLineIsReportedTheSameHoweverItArrives() {
    let line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":{\"pad\":\"xxxxxxxx\"}}\n"
    let whole = Self.feed(line, limit: 48)
    #expect(whole == [.oversized(length: nil, .ndjson)])
    #expect(Self.feed(line, limit: 48, chunks: [50, 100]) == whole)
  }

  /// A line of exactly the limit ending in CRLF is a message, even when the
  /// read boundary falls between the `\r` and the `\n`.
  @Test func aLineAtTheLimitWithCRLFIsAMessage() {
    let body = "[" + String(repeating: "1,", count: 22) + "12]"  // 48 bytes
    #expect(body.utf8.count == 48)
    let expected: [FrameEvent] = [.message(Array(body.utf8), .ndjson)]
    #expect(Self.feed(body + "\r\n", limit: 48) == expected)
    #expect(Self.feed(body + "\r\n", limit: 48, chunks: [49, 1]) == expected)
    #expect(Self.feed(body + "1\r\n", limit: 48, chunks: [49, 2]) == [.oversized(length: nil, .ndjson)])
  }

  /// resync-json-line-oversize-depends-on-chunking: after a bad header, a JSON
  /// line over the limit was answered -32600 when it arrived whole and
  /// dropped without a word when a read ended past the limit.
  @Test func anOversizedJSONLineAfterABadHeaderIsAlwaysAnswered() {
    let text = "x-bad: y\r\n\r\n" + "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"health\",\"params\":{\"pad\":\"xxxxxxxxxxxxxxxx\"}}\n"
      + "{\"id\":8}\n"
    let whole = Self.feed(text, limit: 48)
    #expect(whole.count == 3)
    #expect(whole.dropFirst().first == .oversized(length: nil, .ndjson))
    #expect(whole.last == .message(Array("{\"id\":8}".utf8), .ndjson))
    for chunk in [1, 7, 30, 64] {
      let chunks = Array(repeating: chunk, count: text.utf8.count / chunk + 1)
      #expect(Self.feed(text, limit: 48, chunks: chunks) == whole, "reads of \(chunk) bytes")
    }
  }

  /// control-byte-folded-into-header-colon-loops-forever: the header matcher
  /// lowercased with `| 0x20`, which also turns 0x1A into `:` (and `\r` into
  /// `-`), so `Content-Length<0x1A> 2` inside a stray line was found as a
  /// glued header, refused as a header field, found again at the same byte,
  /// and so on: one 30-byte message spun the reader and ate memory. Parsed on
  /// a thread of its own so that a regression fails here instead of hanging.
  @Test func aControlByteIsNeitherAColonNorADashAndTheParserMovesOn() throws {
    for text in [
      "engta\":Content-Length\u{1A} 2\r\n\r\n{}", "Content-Length\u{1A} 2\r\n\r\n{}",
      "x Content\rLength: 2\r\n\r\n{}", "x content-length\u{1A}content-length: 2\r\n\r\n{}",
    ] {
      let result = Mutex<[FrameEvent]?>(nil)
      let done = DispatchSemaphore(value: 0)
      Thread.detachNewThread {
        let events = Self.feed(text, limit: 48)
        result.withLock { $0 = events }
        done.signal()
      }
      #expect(done.wait(timeout: .now() + 10) == .success, "the parser did not finish on \(text.debugDescription)")
      let events = try #require(result.withLock { $0 })
      #expect(events.count <= 4, "\(text.debugDescription): \(events)")
      // Nowhere is there a real `Content-Length:` with a 2-byte body, except
      // in the last input, where the second header is real.
      let twoByteBodies = events.filter { if case .message(let body, .lsp) = $0 { body == Array("{}".utf8) } else { false } }
      #expect(twoByteBodies.count == (text.hasPrefix("x content-length") ? 1 : 0), "\(text.debugDescription): \(events)")
    }
  }

  /// glued-header-in-oversized-line-depends-on-chunking: a JSON line with a
  /// header glued to its end was split at the header when the line came in
  /// one read, and reported oversized (header and all) when it did not.
  @Test func aGluedHeaderInAnOversizedLineIsOversizedWhateverTheReads() {
    let text = "{\"pad\":\"" + String(repeating: "x", count: 60) + "\"}Content-Length: 2\r\n\r\n{}\n"
    let whole = Self.feed(text, limit: 48)
    #expect(whole.first == .oversized(length: nil, .ndjson), "\(whole)")
    for chunk in [1, 5, 49, 50, 64] {
      let chunks = Array(repeating: chunk, count: text.utf8.count / chunk + 1)
      #expect(Self.feed(text, limit: 48, chunks: chunks) == whole, "reads of \(chunk) bytes")
    }
    // Within the limit, the glued header still splits the line.
    let short = "{\"a\":1}Content-Length: 2\r\n\r\n{}"
    #expect(Self.feed(short, limit: 48) == [.message(Array("{\"a\":1}".utf8), .ndjson), .message(Array("{}".utf8), .lsp)])
  }

  /// header-line-over-8k-depends-on-chunking: an overlong header line was
  /// skipped to its end when its newline had arrived, and rescanned from
  /// wherever the read stopped when not, so a `Content-Length` in its tail
  /// counted or not by read size.
  @Test func anOverlongHeaderLineResyncsFromTheSameByte() {
    let text = "X-Long: " + String(repeating: "a", count: 8300) + "Content-Length: 2\r\n\r\n{}"
      + "\r\nContent-Length: 3\r\n\r\n[1]"
    let whole = Self.feed(text, limit: 1 << 20)
    #expect(whole.count == 3)
    #expect(whole.last == .message(Array("[1]".utf8), .lsp))
    #expect(Self.feed(text, limit: 1 << 20, chunks: [8200, 20_000]) == whole)
    #expect(Self.feed(text, limit: 1 << 20, chunks: Array(repeating: 4096, count: 3)) == whole)
  }

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
