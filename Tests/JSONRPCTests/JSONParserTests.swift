import JSONRPC
import Testing

@Suite struct JSONParserTests {
  func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

  func kind(_ bytes: [UInt8]) -> JSONParseError.Kind? {
    do {
      _ = try JSONParser.parse(bytes)
      return nil
    } catch {
      return error.kind
    }
  }

  @Test func numbersKeepIntegersExactAndParseTheRest() throws {
    #expect(try parse("0") == .int(0))
    #expect(try parse("-0") == .int(0))
    #expect(try parse("9223372036854775807") == .int(Int64.max))
    #expect(try parse("-9223372036854775808") == .int(Int64.min))
    #expect(try parse("9223372036854775808") == .double(9223372036854775808.0))
    #expect(try parse("1.5") == .double(1.5))
    #expect(try parse("-2.5e3") == .double(-2500))
    #expect(try parse("1E-2") == .double(0.01))
    // Past Double's range is an error, not infinity, which JSON cannot spell
    // (the writer would echo it as null): see FuzzRegressionTests.
    #expect(kind(Array("1e400".utf8)) == .syntax)
    for bad in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "- 1", "1.e3"] {
      #expect(kind(Array(bad.utf8)) == .syntax, "\(bad)")
    }
  }

  @Test func literalsAndStructure() throws {
    #expect(try parse(" \t\r\n[true, false, null] ") == [true, false, nil])
    #expect(try parse(#"{"a":{"b":[]},"c":{}}"#) == ["a": ["b": []], "c": [:]])
    for bad in ["", " ", "tru", "nul", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{1:2}", "[1]x", "{\"a\":1}}", "'a'"] {
      #expect(kind(Array(bad.utf8)) == .syntax, "\(bad)")
    }
  }

  @Test func objectsKeepOrderAndLastDuplicateWins() throws {
    let value = try parse(#"{"b":1,"a":2,"b":3}"#)
    #expect(value.objectValue?.keys == ["b", "a", "b"])
    #expect(value["b"] == 3)
  }

  @Test func escapes() throws {
    #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{c}\n\r\t"))
    #expect(try parse(#""\u0041\u00e9\u4e2d""#) == .string("Aé中"))
    #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    for bad in [#""\x""#, #""\u12""#, #""\u12g4""#, #""\"#, "\"a\tb\"", "\"a\nb\"", "\"abc"] {
      #expect(kind(Array(bad.utf8)) == .syntax, "\(bad)")
    }
  }

  @Test func surrogatePairsJoinAndLoneSurrogatesAreRejected() throws {
    #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
    #expect(try parse(#""\uD834\uDD1E""#) == .string("𝄞"))
    #expect(kind(Array(#""\ud83d""#.utf8)) == .invalidUTF8)
    #expect(kind(Array(#""\ud83dx""#.utf8)) == .invalidUTF8)
    #expect(kind(Array(#""\ude00""#.utf8)) == .invalidUTF8)
    #expect(kind(Array(#""\ud83d\u0041""#.utf8)) == .invalidUTF8)
  }

  @Test func rawUTF8IsCheckedStrictly() throws {
    #expect(try parse("\"héllo 中 😀\"") == .string("héllo 中 😀"))
    let invalid: [[UInt8]] = [
      [0x22, 0xFF, 0x22],  // never valid
      [0x22, 0xC3, 0x22],  // truncated 2-byte sequence
      [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
      [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
      [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8-encoded surrogate
      [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // past U+10FFFF
      [0x22, 0xE4, 0xB8, 0x22],  // truncated 3-byte
      [0x22, 0x80, 0x22],  // lone continuation byte
    ]
    for bytes in invalid {
      #expect(kind(bytes) == .invalidUTF8, "\(bytes)")
    }
    // Outside strings, a non-ASCII byte is a syntax error.
    #expect(kind([0xC3, 0xA9]) == .syntax)
  }

  @Test func depth512IsAcceptedAnd513Rejected() throws {
    let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
    #expect(throws: Never.self) { try JSONParser.parse(ok) }
    let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
    #expect(kind(Array(deep.utf8)) == .tooDeep)
    let objects = String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)
    #expect(kind(Array(objects.utf8)) == .tooDeep)
    // Far deeper input fails the same way, without exhausting the stack.
    let absurd = String(repeating: "[", count: 200_000)
    #expect(kind(Array(absurd.utf8)) == .tooDeep)
  }

  @Test func keysAreLocatedByPathAndAnErrorKeepsTheLastKeyRead() throws {
    let text = #"{"a": 1, "b": [{"c": true}, 2], "a": 3, "d": {"e": null}}"#
    var keys = JSONParser.KeyLocations()
    let value = try JSONParser.parse(Array(text.utf8), locatingKeys: &keys)
    #expect(JSONWriter.encode(value) == JSONWriter.encode(try parse(text)))
    let offsets = ["a": 1, "b": 9, "b[0]": 15, "b[0].c": 16, "b[1]": 28, "d": 40, "d.e": 46]
    #expect(keys.offsets == offsets)
    #expect(keys.lastKey == "d.e")

    var broken = JSONParser.KeyLocations()
    #expect(throws: JSONParseError.self) {
      try JSONParser.parse(Array(#"{"a": {"b": 1}, "c" 2, "d": 4}"#.utf8), locatingKeys: &broken)
    }
    #expect(broken.lastKey == "c")
    #expect(broken.offsets["d"] == nil)
  }
}

/// The limits a parse checks as it goes: a top-level array's length (a
/// batch against `--max-batch`) and the memory its tree would take.
@Suite struct JSONParserLimitsTests {
  func kind(_ text: String, _ limits: JSONParser.Limits) -> JSONParseError.Kind? {
    let bytes = Array(text.utf8)
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(JSONParseError) -> JSONValue in try JSONParser.parse(buffer, limits: limits) }
    }
    if case .failure(let error) = result { return error.kind }
    return nil
  }

  @Test func aTopLevelArrayStopsAtTheFirstElementOverTheLimit() {
    let three = JSONParser.Limits(maxTopLevelElements: 3)
    #expect(kind("[1,2,3]", three) == nil)
    #expect(kind("[1,2,3,4]", three) == .tooManyElements)
    // Counted before the rest is read: what follows the fourth element,
    // even broken JSON, is never looked at.
    #expect(kind("[1,2,3,4,", three) == .tooManyElements)
    // Only the top level is a batch.
    #expect(kind("[[1,2,3,4,5]]", three) == nil)
    #expect(kind(#"{"a":[1,2,3,4,5]}"#, three) == nil)
  }

  @Test func aTreeOverItsMemoryLimitIsRefusedAndStringsCostTheirLength() {
    let limits = JSONParser.Limits.message(byteCount: 4 << 20, maxBatchLength: 10)
    let zeros = "[" + Array(repeating: "0", count: 2 << 20).joined(separator: ",") + "]"
    #expect(kind(#"{"a":"# + zeros + "}", limits) == .tooLarge)
    let nested = "[" + Array(repeating: "[0]", count: 1 << 20).joined(separator: ",") + "]"
    #expect(kind(#"{"a":"# + nested + "}", limits) == .tooLarge)
    let string = #"{"a":""# + String(repeating: "x", count: 4 << 20) + #""}"#
    #expect(kind(string, limits) == nil)
    // The ordinary message is nowhere near its limit.
    let small = #"{"jsonrpc":"2.0","id":1,"method":"listFiles","params":{"path":"src"}}"#
    #expect(kind(small, .message(byteCount: small.utf8.count, maxBatchLength: 1)) == nil)
  }

  /// The tree budget prices elements and members by these strides: a wider
  /// `JSONValue` (a bigger payload in any case, `EncodedString`'s included)
  /// would refuse messages the contract accepts, such as BoundedWorkTests'
  /// zipDirectory with 20,001 excludes.
  @Test func aValueKeepsItsWidth() {
    #expect(MemoryLayout<JSONValue>.stride == 24)
    #expect(MemoryLayout<(key: String, value: JSONValue)>.stride == 40)
    #expect(MemoryLayout<EncodedString>.stride == 8)
  }
}

@Suite struct JSONWriterTests {
  @Test func slashesAreNotEscapedAndUTF8StaysRaw() {
    #expect(JSONWriter.string("a/b/ü/中/😀") == "\"a/b/ü/中/😀\"")
  }

  @Test func controlCharactersAreEscaped() {
    let text = JSONWriter.string(.string("\"\\\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}"))
    #expect(text == #""\"\\\n\r\t\b\f\u0000\u001f"# + "\u{7f}\"")
  }

  @Test func outputNeverHoldsARawNewline() {
    let value: JSONValue = ["a\nb": ["x\n", "\r\n"], "n": nil]
    #expect(!JSONWriter.encode(value).contains(0x0A))
  }

  @Test func numbersAndRoundTrip() throws {
    #expect(JSONWriter.string(.int(-42)) == "-42")
    #expect(JSONWriter.string(.double(2.0)) == "2")
    #expect(JSONWriter.string(.double(0.1)) == "0.1")
    #expect(JSONWriter.string(.double(.nan)) == "null")
    let value: JSONValue = ["s": "é\u{1}/", "a": [1, 2.5, true, nil, [:]], "o": ["k": "v"]]
    #expect(try JSONParser.parse(JSONWriter.encode(value)) == value)
  }

  @Test func objectsKeepInsertionOrder() {
    #expect(JSONWriter.string(["z": 1, "a": 2, "m": 3]) == #"{"z":1,"a":2,"m":3}"#)
  }

  @Test func prettyIsIndentedAndParsesBack() throws {
    let value: JSONValue = ["a": [1, ["b": []]], "c": [:]]
    let pretty = JSONWriter.pretty(value)
    #expect(pretty == "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}\n")
    #expect(try JSONParser.parse(pretty) == value)
  }
}
