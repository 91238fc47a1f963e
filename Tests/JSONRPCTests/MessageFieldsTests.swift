@testable import JSONRPC
import Testing

/// The reader classifies a single object without building its tree
/// (`ReplyRules.parseIncoming`); these hold it to the tree parser followed by
/// `Message(_:)`, the reference, on texts near every way a message can go
/// wrong: each prefix, each byte replaced, each tree-size and depth limit.
@Suite struct MessageFieldsTests {
  static let samples: [String] = [
    #"{"jsonrpc":"2.0","id":1,"method":"health"}"#,
    #"{"jsonrpc":"2.0","id":"a\u00e9\n","method":"readFile","params":{"path":"x","n":[1,2.5,-3e2,true,false,null]}}"#,
    #"{"jsonrpc":"2.0","id":1,"id":2,"method":"a","method":"b","params":[],"params":{}}"#,
    #"{"jsonrpc":"2.0","id":3,"result":null}"#,
    #"{"jsonrpc":"2.0","error":{"code":1,"message":"m"}}"#,
    #"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}"#,
    #"{"jsonrpc":"1.0","id":1.0,"method":"x"}"#,
    #"{"id":null,"jsonrpc":"2.0","method":"x"}"#,
    #"{"jsonrpc":"2.0","id":9223372036854775807,"method":5}"#,
    #"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"m","params":"s"}"#,
    #"{"jsonrpc":"2.0","id":9223372036854775808,"method":"m","result":1}"#,
    "  {\"jsonrpc\" : \"2.0\" ,\r\n\t\"id\" : 1e2 , \"method\" : \"h\" }  ",
    #"{"jsonrpc":"2.0","id":"€𝄞","method":"ü","x":"\ud83d\ude00","params":[[[[{}]]]]}"#,
    #"{"jsonrpc":"2.0","id":7,"method":"aVeryLongMethodNameOverFifteen","params":{"k":"a string well over fifteen bytes"}}"#,
    #"{}"#,
    #"[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","method":"n"}]"#,
    #"[]"#,
    #"5"#,
  ]

  /// Bytes each position is replaced by: structure, blanks, quotes and
  /// escapes, digits, letters and bytes that break UTF-8.
  static let replacements: [UInt8] = [
    0x00, 0x20, 0x22, 0x2C, 0x3A, 0x7B, 0x7D, 0x5B, 0x5D, 0x5C, 0x30, 0x61, 0xC3, 0xFF,
  ]

  static let rules = ReplyRules(errors: .plain)

  static func describe(_ message: Message) -> String {
    switch message {
    case .request(let id, let method, let params): "request \(id) \(method) \(params.map(JSONWriter.string) ?? "-")"
    case .notification(let method, let params): "notification \(method) \(params.map(JSONWriter.string) ?? "-")"
    case .response(let id): "response \(id.map(String.init(describing:)) ?? "-")"
    case .invalid(let id, let reason): "invalid \(id.map(String.init(describing:)) ?? "-") \(reason)"
    }
  }

  static func describe(_ result: Result<ReplyRules.Incoming, ResponseError>) -> String {
    switch result {
    case .failure(let error):
      return "error \(error.code.rawValue) \(error.message) \(error.data.map(JSONWriter.string) ?? "-")"
    case .success(.single(let message)): return "single " + describe(message)
    case .success(.batch(let messages)): return "batch " + messages.map(describe).joined(separator: "; ")
    case .success(.emptyBatch): return "empty batch"
    }
  }

  /// Both ways of reading `bytes` as a received message, described.
  static func both(_ bytes: [UInt8]) -> (fast: String, reference: String) {
    bytes.withUnsafeBytes { raw in
      let fast = rules.parseIncoming(raw, maxBatchLength: 1024)
      let reference = rules.parse(raw, maxBatchLength: 1024).map(ReplyRules.classify)
      return (describe(fast), describe(reference))
    }
  }

  static func check(_ bytes: [UInt8]) {
    let (fast, reference) = both(bytes)
    #expect(fast == reference, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
  }

  @Test func everyPrefixReadsAsTheTreeReadsIt() {
    for sample in Self.samples {
      let bytes = Array(sample.utf8)
      for end in 0...bytes.count { Self.check(Array(bytes[..<end])) }
    }
  }

  @Test func everyByteReplacedReadsAsTheTreeReadsIt() {
    for sample in Self.samples {
      let bytes = Array(sample.utf8)
      for index in bytes.indices {
        for replacement in Self.replacements where replacement != bytes[index] {
          var changed = bytes
          changed[index] = replacement
          Self.check(changed)
        }
      }
    }
  }

  /// Succeeds under exactly the same tree-size and depth limits as the tree
  /// parser, so a refusal for memory or nesting can never be skipped.
  @Test func everyLimitRefusesWhatTheTreeRefuses() {
    for sample in Self.samples where sample.hasPrefix("{") || sample.hasPrefix(" ") {
      let bytes = Array(sample.utf8)
      bytes.withUnsafeBytes { raw in
        var limits: [JSONParser.Limits] = (0...1200).map { JSONParser.Limits(maxTreeBytes: $0) }
        limits += (0...6).map { JSONParser.Limits(maxDepth: $0) }
        for limit in limits {
          let tree = try? JSONParser.parse(raw, limits: limit)
          let fields = try? JSONParser.messageFields(raw, limits: limit)
          #expect((tree == nil) == (fields == nil), "\(sample) \(limit.maxTreeBytes) \(limit.maxDepth)")
          if let tree, let fields {
            #expect(Self.describe(Message(tree)) == Self.describe(Message(fields)), "\(sample)")
          }
        }
      }
    }
  }

  /// The samples themselves cover what the reader must tell apart: without
  /// this, a list of texts that all fail would make the checks above vacuous.
  @Test func samplesCoverEveryKindOfMessage() {
    let kinds = Set(
      Self.samples.map { Self.both(Array($0.utf8)).reference.split(separator: " ").prefix(2).joined(separator: " ") })
    #expect(
      kinds.isSuperset(of: [
        "single request", "single notification", "single response", "single invalid", "batch request", "empty batch",
      ]), "\(kinds)")
  }
}
