import JSONRPC
import Testing

@Suite struct FrameParserTests {
  static let health = #"{"jsonrpc":"2.0","id":1,"method":"health"}"#

  static func lsp(_ body: String, headers: String = "") -> String {
    "\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
  }

  /// Feeds `input` in the given pieces, then ends the input.
  static func events(_ pieces: [[UInt8]], max: Int = 1 << 20, forced: Framing? = nil) -> [FrameEvent] {
    var parser = FrameParser(maxMessageBytes: max, forcedFraming: forced)
    var events: [FrameEvent] = []
    for piece in pieces {
      parser.append(piece)
      while let event = parser.next() { events.append(event) }
    }
    if let last = parser.finish() { events.append(last) }
    return events
  }

  static func events(_ input: String, max: Int = 1 << 20, forced: Framing? = nil) -> [FrameEvent] {
    events([Array(input.utf8)], max: max, forced: forced)
  }

  static func message(_ text: String, _ framing: Framing) -> FrameEvent { .message(Array(text.utf8), framing) }

  /// Kinds only, for streams where the reasons do not matter.
  static func shape(_ events: [FrameEvent]) -> [String] {
    events.map { event in
      switch event {
      case .message(let body, let framing): "\(framing):\(String(decoding: body, as: UTF8.self))"
      case .malformed(_, let framing): "\(framing):malformed"
      case .oversized(_, let framing): "\(framing):oversized"
      }
    }
  }

  // MARK: Both framings, coalesced and split

  static let mixedStream =
    lsp(health) + "\n" + health + "\r\n" + lsp("[]", headers: "content-type: application/vscode-jsonrpc; charset=utf-8\r\n")
    + "  \n" + #"[{"jsonrpc":"2.0","method":"x"}]"# + "\n" + lsp(#"{"s":"é\n😀"}"#)

  static let mixedExpected: [FrameEvent] = [
    message(health, .lsp), message(health, .ndjson), message("[]", .lsp),
    message(#"[{"jsonrpc":"2.0","method":"x"}]"#, .ndjson), message(#"{"s":"é\n😀"}"#, .lsp),
  ]

  @Test func coalescedFramesOfBothFramings() {
    #expect(Self.events(Self.mixedStream) == Self.mixedExpected)
  }

  @Test func splitAtEveryByteBoundary() {
    let bytes = Array(Self.mixedStream.utf8)
    for cut in 0...bytes.count {
      let events = Self.events([Array(bytes[..<cut]), Array(bytes[cut...])])
      #expect(events == Self.mixedExpected, "cut at \(cut)")
    }
    #expect(Self.events(bytes.map { [$0] }) == Self.mixedExpected, "one byte at a time")
  }

  @Test func splitMalformedStreamsAtEveryBoundary() {
    // Resynchronisation must not depend on where reads end either.
    let stream =
      "garbage line\n" + "Content-Length: abc\r\n\r\n{\"a\":1}" + Self.lsp(Self.health) + "X-Foo: 1\n" + Self.health
      + "\n" + "Content-Length: 5\r\nContent-Type: text/plain; charset=latin1\r\n\r\nhello" + Self.lsp(Self.health)
    let bytes = Array(stream.utf8)
    let whole = Self.shape(Self.events([bytes]))
    #expect(
      whole == [
        "lsp:malformed", "lsp:malformed", "lsp:\(Self.health)", "lsp:malformed", "ndjson:\(Self.health)",
        "lsp:malformed", "lsp:\(Self.health)",
      ])
    for cut in 0...bytes.count {
      #expect(Self.shape(Self.events([Array(bytes[..<cut]), Array(bytes[cut...])])) == whole, "cut at \(cut)")
    }
  }

  @Test func ndjsonWithCRLFAndBlankLinesAndNoFinalNewline() {
    let input = "\r\n\(Self.health)\r\n\r\n\n   \(Self.health)  \r\n\(Self.health)"
    #expect(Self.events(input) == Array(repeating: Self.message(Self.health, .ndjson), count: 3))
  }

  // MARK: Header variants

  @Test func headerNamesAreCaseInsensitiveAndUnknownOnesIgnored() {
    for headers in [
      "CONTENT-LENGTH: 2\r\n", "content-length:2\r\n", "Content-Length: \t2 \r\n",
      "X-Trace: abc\r\nContent-Length: 2\r\nX-Other: 1\r\n",
      "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n",
      "Content-Length: 2\r\ncontent-type: application/json;charset=UTF8\r\n",
      "Content-Length: 2\r\nContent-Type: application/json; charset=\"utf-8\"\r\n",
      "Content-Length: 2\r\nContent-Type: application/json\r\n",
      "Content-Length: 2\n",  // bare LF lines are tolerated
      "Content-Length: 2\r\r\n",  // what a Windows text-mode pipe makes of CRLF
    ] {
      let blank = headers.hasSuffix("\r\r\n") ? "\r\r\n" : headers.hasSuffix("\r\n") ? "\r\n" : "\n"
      #expect(Self.events(headers + blank + "{}") == [Self.message("{}", .lsp)], "\(headers.debugDescription)")
    }
  }

  @Test func otherCharsetsAreRefusedAndTheBodySkippedExactly() {
    let input = "Content-Length: 2\r\nContent-Type: application/json; charset=utf-16\r\n\r\n{}" + Self.lsp(Self.health)
    let events = Self.events(input)
    #expect(Self.shape(events) == ["lsp:malformed", "lsp:\(Self.health)"])
    if case .malformed(let reason, _) = events[0] { #expect(reason.contains("charset")) }
  }

  /// A header block already refused (for its charset) still learns its
  /// length from a later plain Content-Length, so its body (here one that
  /// holds a message of its own) is skipped exactly and the first reason
  /// kept; two different lengths leave the length unknown, so the parser
  /// resynchronises inside the body instead.
  @Test func aRefusedHeaderBlockStillLearnsItsLength() {
    let refused = "Content-Type: application/json; charset=utf-16\r\n"
    let body = Self.lsp("[]")
    let skipped = Self.events(refused + "Content-Length: \(body.utf8.count)\r\n\r\n" + body + Self.lsp(Self.health))
    #expect(Self.shape(skipped) == ["lsp:malformed", "lsp:\(Self.health)"])
    let conflicting = Self.events(
      refused + "Content-Length: \(body.utf8.count)\r\nContent-Length: 1\r\n\r\n" + body + Self.lsp(Self.health))
    #expect(Self.shape(conflicting) == ["lsp:malformed", "lsp:[]", "lsp:\(Self.health)"])
    for events in [skipped, conflicting] {
      guard case .malformed(let reason, _) = events.first else { continue }
      #expect(reason.contains("charset"))
    }
  }

  @Test func missingOrBadContentLengthIsMalformedThenResyncs() {
    for header in [
      "Content-Type: application/json\r\n", "Content-Length: abc\r\n", "Content-Length: -5\r\n",
      "Content-Length: 0x10\r\n", "Content-Length:\r\n", "Content-Length: 1 2\r\n",
      "Content-Length: 2\r\nContent-Length: 3\r\n",
    ] {
      let input = header + "\r\n" + #"{"jsonrpc":"2.0"}"# + Self.lsp(Self.health)
      #expect(Self.shape(Self.events(input)) == ["lsp:malformed", "lsp:\(Self.health)"], "\(header.debugDescription)")
    }
  }

  @Test func badHeaderLinesAreMalformed() {
    for bad in ["Content Length: 5\r\n", ": 5\r\n", "Content-Length 5\r\n", "\u{1}\r\n"] {
      let input = bad + Self.lsp(Self.health)
      #expect(Self.shape(Self.events(input)) == ["lsp:malformed", "lsp:\(Self.health)"], "\(bad.debugDescription)")
    }
    // A bad line inside a header block takes the block with it.
    let inside = "Content-Length: 5\r\nnot a header\r\n\r\nhello" + Self.lsp(Self.health)
    #expect(Self.shape(Self.events(inside)) == ["lsp:malformed", "lsp:\(Self.health)"])
  }

  @Test func aStrayHeaderBeforeJSONLinesDoesNotSwallowThem() {
    let input = "foo: bar\n\(Self.health)\n\(Self.health)\n"
    #expect(Self.shape(Self.events(input)) == ["lsp:malformed", "ndjson:\(Self.health)", "ndjson:\(Self.health)"])
    let blank = "foo: bar\r\n\r\n\(Self.health)\n"
    #expect(Self.shape(Self.events(blank)) == ["lsp:malformed", "ndjson:\(Self.health)"])
  }

  @Test func aHeaderGluedToGarbageOrToAJSONValueIsFound() {
    // Garbage without a newline, then a real message.
    let garbage = "oops " + Self.lsp(Self.health) + Self.lsp(Self.health)
    #expect(Self.shape(Self.events(garbage)) == ["lsp:malformed", "lsp:\(Self.health)", "lsp:\(Self.health)"])
    // A body shorter than its length swallows the next header's first byte;
    // the rest must not turn every later message into a broken line.
    let short = "Content-Length: 7\r\n\r\n{\"a\":1" + Self.lsp(Self.health) + Self.lsp(Self.health) + Self.lsp(Self.health)
    let events = Self.shape(Self.events(short))
    #expect(events.suffix(2) == ["lsp:\(Self.health)", "lsp:\(Self.health)"], "\(events)")
    // A JSON value with a header glued on is split there.
    let glued = Self.health + Self.lsp(Self.health)
    #expect(Self.shape(Self.events(glued)) == ["ndjson:\(Self.health)", "lsp:\(Self.health)"])
    // Inside a string, "content-length:" is just text.
    let text = #"{"a":"see content-length: 5"}"# + "\n"
    #expect(Self.shape(Self.events(text)) == [#"ndjson:{"a":"see content-length: 5"}"#])
  }

  @Test func aHeaderAfterABracketInsideAStringIsText() {
    // A file name the agent chose: the `}` before the header text is in a
    // string, so nothing closed the value and the line is one request.
    let line = #"{"jsonrpc":"2.0","id":7,"method":"listFiles","params":{"path":"a}Content-Length: 2"}}"#
    #expect(Self.shape(Self.events(line + "\n")) == ["ndjson:\(line)"])
    let escaped = #"{"path":"a\"}]Content-Length: 2","b":["\\"]}"#
    #expect(Self.shape(Self.events(escaped + "\n")) == ["ndjson:\(escaped)"])
    // Only the bracket that closes the top-level value ends it.
    let nested = #"{"a":{"b":1}Content-Length: 2"# + "\n"
    #expect(Self.shape(Self.events(nested)).count == 1)
    let glued = #"{"a":"}","b":[1]}"# + Self.lsp(Self.health)
    #expect(Self.shape(Self.events(glued)) == [#"ndjson:{"a":"}","b":[1]}"#, "lsp:\(Self.health)"])
  }

  @Test func zeroLengthBodyIsAnEmptyMessage() {
    #expect(Self.events("Content-Length: 0\r\n\r\n") == [.message([], .lsp)])
  }

  @Test func hugeLengthsAreOversizedOrMalformedButNeverFatal() {
    // Representable but over the limit: -32600, skipped exactly.
    let big = Self.events("Content-Length: 1000\r\n\r\n" + String(repeating: "x", count: 1000) + Self.lsp(Self.health), max: 100)
    #expect(Self.shape(big) == ["lsp:oversized", "lsp:\(Self.health)"])
    #expect(big.first == .oversized(length: 1000, .lsp))
    // Not a length anyone can send: -32700 and resync, not a skip forever.
    for absurd in ["99999999999999999999999999", "9223372036854775808"] {
      let events = Self.events("Content-Length: \(absurd)\r\n\r\n{}" + Self.lsp(Self.health))
      #expect(Self.shape(events) == ["lsp:malformed", "lsp:\(Self.health)"], "\(absurd)")
    }
  }

  @Test func headerLineTooLongIsMalformed() {
    let input = "X-Long: " + String(repeating: "a", count: FrameParser.maxHeaderBytes + 10) + "\r\n" + Self.lsp(Self.health)
    #expect(Self.shape(Self.events(input)) == ["lsp:malformed", "lsp:\(Self.health)"])
  }

  // MARK: Bodies lent out of the buffer

  /// The reader takes bodies lent from the parser's buffer; a lent body must
  /// be the bytes `next()` would copy, even when bodies wait untaken while
  /// more input arrives (the buffer must not move under them) and when an
  /// input ends with some untaken.
  @Test func lentBodiesAreTheBodiesThoughMoreInputArrivesFirst() {
    let bodies = (0..<4000).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"health"}"# }
    let stream = bodies.enumerated().map { $0.offset % 3 == 0 ? $0.element + "\n" : Self.lsp($0.element) }.joined()
    let bytes = Array(stream.utf8)
    var parser = FrameParser()
    var lent: [String] = []
    func take() -> Bool {
      parser.withNext { event in
        if case .message(let body, _) = event {
          lent.append(String(decoding: body, as: UTF8.self))
        } else {
          Issue.record("not a message: \(event)")
        }
      } != nil
    }
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + 1000)
      parser.append(Array(bytes[offset..<end]))
      offset = end
      _ = take()  // One per append: most stay in the parser while it reads on.
    }
    for _ in 0..<10 { _ = take() }
    let rest = parser.finish()  // The bodies still untaken are copied out, not lost.
    #expect(rest == nil)
    while let event = parser.next() {
      if case .message(let body, _) = event {
        lent.append(String(decoding: body, as: UTF8.self))
      } else {
        Issue.record("not a message: \(event)")
      }
    }
    #expect(lent == bodies)
  }

  // MARK: Oversized messages are never buffered

  @Test func oversizedLSPBodyIsSkippedAsItStreams() {
    var parser = FrameParser(maxMessageBytes: 1024)
    parser.append(Array("Content-Length: \(10 << 20)\r\n\r\n".utf8))
    #expect(parser.next() == .oversized(length: 10 << 20, .lsp))
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
    for _ in 0..<160 {
      parser.append(chunk)
      #expect(parser.bufferedCount == 0)
      #expect(parser.next() == nil)
    }
    parser.append(Array(Self.lsp(Self.health).utf8))
    #expect(parser.next() == Self.message(Self.health, .lsp))
  }

  @Test func oversizedNDJSONLineIsDroppedUpToItsNewline() {
    var parser = FrameParser(maxMessageBytes: 1024)
    parser.append(Array("{\"a\":\"".utf8))
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
    for _ in 0..<100 { parser.append(chunk) }
    #expect(parser.next() == .oversized(length: nil, .ndjson))
    #expect(parser.bufferedCount <= 4096)
    parser.append(Array("\"}\n\(Self.health)\n".utf8))
    #expect(parser.next() == Self.message(Self.health, .ndjson))
    #expect(parser.next() == nil)
    // A complete line over the limit in one read is oversized too.
    let line = "{\"a\":\"" + String(repeating: "y", count: 2000) + "\"}\n" + Self.health + "\n"
    #expect(Self.shape(Self.events(line, max: 1024)) == ["ndjson:oversized", "ndjson:\(Self.health)"])
  }

  @Test func longLinesCostLinearTime() {
    // 32 MiB in 64 KiB reads: a parser that rescans the line on every read
    // does 256 GiB of work here and never finishes.
    var parser = FrameParser(maxMessageBytes: 64 << 20)
    parser.append(Array("{\"a\":\"".utf8))
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
      for _ in 0..<512 { parser.append(chunk) }
      parser.append(Array("\"}\n".utf8))
    }
    guard case .message(let body, .ndjson)? = parser.next() else {
      Issue.record("expected the long line")
      return
    }
    #expect(body.count == 32 * 1024 * 1024 + 8)
    #expect(elapsed < .seconds(10))
  }

  // MARK: Forced framing and end of input

  @Test func forcedFramingReadsOnlyThatFraming() {
    #expect(Self.shape(Self.events(Self.health + "\n" + Self.lsp(Self.health), forced: .lsp)) == [
      "lsp:malformed", "lsp:\(Self.health)",
    ])
    #expect(Self.shape(Self.events("Content-Length: 2\r\n\r\n{}\n", forced: .ndjson)) == [
      "ndjson:Content-Length: 2", "ndjson:{}",
    ])
  }

  @Test func endOfInputInsideAMessageIsMalformed() {
    #expect(Self.shape(Self.events("Content-Length: 10\r\n\r\n{}")) == ["lsp:malformed"])
    #expect(Self.shape(Self.events("Content-Length: 10\r\n")) == ["lsp:malformed"])
    #expect(Self.shape(Self.events("garbage")) == ["lsp:malformed"])
    #expect(Self.events("  \r\n ").isEmpty)
  }
}
