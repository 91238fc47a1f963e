import JSONRPC
import Testing

/// The package declares a JSONRPCTests target; this keeps it building (and
/// checks the one property every file method relies on: a large string with
/// control characters and raw UTF-8 survives write then parse).
@Suite struct JSONRoundTripTests {
  @Test func stringWithControlsAndUTF8RoundTrips() throws {
    let text = "line1\nline2\r\t\u{0}\u{1F}caf\u{E9} \u{1F600} \"quoted\" \\ /"
    let encoded = JSONWriter.encode(["code": .string(text)])
    let decoded = try JSONParser.parse(encoded)
    #expect(decoded == ["code": .string(text)])
  }
}
