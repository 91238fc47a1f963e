import JSONRPC
import Testing

/// The config file's error positions are built on the parser's byte offset:
/// it must point at the offending byte, not past the value.
@Suite struct ParseErrorOffsetTests {
  @Test func offsetPointsAtTheOffendingByte() {
    let text = "{\"a\": 1,\n \"b\": [1,}"
    #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    do {
      _ = try JSONParser.parse(text)
    } catch {
      #expect(error.offset == 18)
      #expect(Array(text.utf8)[error.offset] == UInt8(ascii: "}"))
    }
  }
}
