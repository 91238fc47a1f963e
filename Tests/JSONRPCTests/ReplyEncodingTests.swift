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

  /// Integers (ids above all) are written digit by digit; Swift's own
  /// decimal text is the reference.
  @Test func integersAreWrittenAsTheirDecimalText() {
    var values: [Int64] = [0, 1, -1, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
    var power: Int64 = 1
    for _ in 0..<18 {
      power *= 10
      values += [power - 1, power, power + 1, -(power - 1), -power, -(power + 1)]
    }
    var random = SystemRandomNumberGenerator()
    values += (0..<1000).map { _ in Int64.random(in: .min ... .max, using: &random) }
    for value in values {
      #expect(JSONWriter.string(.int(value)) == String(value))
      let expected = #"{"jsonrpc":"2.0","id":\#(value),"result":null}"#
      #expect(Reply.encodedResponse(.success(.null), id: .number(value)) == Array(expected.utf8))
    }
    for whole in [0.0, -0.0, 100.0, -42.0, 999_999_999_999_999.0] {
      #expect(JSONWriter.string(.double(whole)) == String(Int64(whole)))
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
