@testable import JSONRPC
import Testing

/// The reader writes responses and LSP headers without building them as
/// values first; these hold those bytes to what the general path writes.
@Suite struct ReplyEncodingTests {
  static let ids: [RequestID] = [
    .number(0), .number(-1), .number(Int64.max), .number(Int64.min), .string(""), .string("a\"b\\c\n\u{1}é😀"),
  ]
  static let outcomes: [Result<JSONValue, ResponseError>] = [
    .success("OK"), .success(.null), .success(["b": [1, 2.5, "x"], "a": ["nested": true]]),
    .failure(ProtocolErrors.plain.invalidRequest("Invalid request: \"quoted\"")), .failure(.cancelled),
    .failure(ResponseError(code: .internalError, message: "tab\there", data: nil)),
  ]

  @Test func encodedResponsesAreTheBytesOfTheResponseValue() {
    for id in Self.ids {
      for outcome in Self.outcomes {
        let expected = JSONWriter.encode(ReplyRules.response(outcome, id: id))
        #expect(Reply.encodedResponse(outcome, id: id) == expected, "\(id) \(outcome)")
      }
    }
  }

  @Test func lspHeadersCarryEveryLengthExactly() {
    for length in [0, 1, 9, 10, 11, 99, 100, 101, 65_535, 1_000_000, 64 << 20, Int.max] {
      var bytes: [UInt8] = []
      bytes.appendLSPHeader(length: length)
      #expect(String(decoding: bytes, as: UTF8.self) == "Content-Length: \(length)\r\n\r\n")
    }
  }
}
