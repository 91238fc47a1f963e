// libFuzzer entry point for the JSON-RPC transport: FrameParser, JSONParser,
// JSONWriter and Message classification.
//
// Not crashing is the least of it. Every input is checked against properties
// the rest of the bridge relies on, and a violated property traps like a
// crash so that libFuzzer saves the input:
//
// 1. Chunking does not matter: the stream fed whole, in pseudo-random chunks
//    and (for short inputs) byte by byte gives the same events.
// 2. The parser never holds more than one message's worth of bytes, however
//    large the stream or its declared lengths.
// 3. Re-framing the message bodies with Content-Length yields the same bodies.
// 4. A body that parses writes back as JSON that re-parses to an equal value,
//    the written form is canonical (writing it again gives the same bytes) and
//    never holds a raw newline (NDJSON safety), and its classification as a
//    request, notification, response or invalid message does not change.
// 5. Every reply the connection would write for it is valid JSON.
// 6. A parse error points inside the input.
// 7. Bodies lent by `withNext` are the bodies `next` copies out.
// 8. A body read straight into its message (`ReplyRules.parseIncoming`)
//    answers as the tree parser and `Message` do, errors included.

import JSONRPC

// SwiftPM links executables with `--defsym main=<Module>_main` and, with
// -parse-as-library, there is no such function; libFuzzer's own `main` then
// loses. Defining it here and handing over to libFuzzer's driver keeps the
// standard `swift build -Xswiftc -sanitize=fuzzer` working.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzJSONRPC_main")
public func fuzzMain(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
  var argc = argc
  var argv = argv
  return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  Harness.check(bytes)
  return 0
}

enum Harness {
  struct Config {
    var maxMessageBytes: Int
    var framing: Framing?
  }

  /// Small limits reach the oversized paths that real limits hide behind
  /// megabytes of input.
  static let configs = [
    Config(maxMessageBytes: 64 << 20, framing: nil),
    Config(maxMessageBytes: 48, framing: nil),
    Config(maxMessageBytes: 48, framing: .lsp),
    Config(maxMessageBytes: 1 << 20, framing: .ndjson),
  ]

  static func check(_ bytes: [UInt8]) {
    var random = SplitMix(seed: fnv1a(bytes))
    // One configuration per input, picked by the input itself so that a
    // saved input replays the same way; the default one half of the time.
    let index = random.next() % 2 == 0 ? 0 : 1 + random.next() % (configs.count - 1)
    let config = configs[index]
    let whole = events(bytes, config, chunks: [bytes.count])
    let split = events(bytes, config, chunks: randomChunks(bytes.count, &random), lend: true)
    require(whole == split, "chunked feed changed the events (config \(index)):\n\(whole)\n\(split)", bytes)
    if bytes.count <= 64 {
      let single = events(bytes, config, chunks: Array(repeating: 1, count: bytes.count))
      require(whole == single, "byte-by-byte feed changed the events (config \(index)):\n\(whole)\n\(single)", bytes)
    }
    checkReframing(whole)
    var checked = 0
    for case .message(let body, _) in whole where body.count < bytes.count - 1 && checked < 4 {
      checkBody(body)
      checked += 1
    }
    // The input as one body, as an HTTP POST /api/jsonrpc would hand it over.
    checkBody(bytes)
  }

  /// Feeds `bytes` in the given chunk sizes and collects every event.
  static func events(_ bytes: [UInt8], _ config: Config, chunks: [Int], lend: Bool = false) -> [FrameEvent] {
    var parser = FrameParser(maxMessageBytes: config.maxMessageBytes, forcedFraming: config.framing)
    let bound = max(config.maxMessageBytes + 2, FrameParser.maxHeaderBytes + 1)
    var out: [FrameEvent] = []
    var offset = 0
    bytes.withUnsafeBytes { raw in
      for size in chunks where offset < raw.count {
        let end = min(raw.count, offset + size)
        parser.append(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
        offset = end
        if lend {
          while let event = parser.withNext(owned) { out.append(event) }
        } else {
          while let event = parser.next() { out.append(event) }
        }
        require(parser.bufferedCount <= bound, "parser buffered \(parser.bufferedCount) bytes", bytes)
      }
    }
    require(offset == bytes.count, "harness: chunks do not cover the input", bytes)
    if let last = parser.finish() { out.append(last) }
    require(parser.bufferedCount == 0, "finish() left bytes behind", bytes)
    return out
  }

  /// A lent event as the `FrameEvent` that owns its bytes.
  static func owned(_ event: LentFrameEvent) -> FrameEvent {
    switch event {
    case .message(let body, let framing): .message(Array(body), framing)
    case .malformed(let reason, let framing): .malformed(reason: reason, framing)
    case .oversized(let length, let framing): .oversized(length: length, framing)
    }
  }

  static func randomChunks(_ count: Int, _ random: inout SplitMix) -> [Int] {
    var chunks: [Int] = []
    var covered = 0
    while covered < count {
      // Mostly short chunks, now and then a long one.
      let size = random.next() % 4 == 0 ? 1 + random.next() % 64 : 1 + random.next() % 7
      chunks.append(size)
      covered += size
    }
    return chunks
  }

  static func checkReframing(_ events: [FrameEvent]) {
    var stream: [UInt8] = []
    var bodies: [[UInt8]] = []
    for case .message(let body, _) in events {
      stream += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
      bodies.append(body)
    }
    var parser = FrameParser(maxMessageBytes: 64 << 20, forcedFraming: nil)
    parser.append(stream)
    var again: [[UInt8]] = []
    while let event = parser.next() {
      guard case .message(let body, .lsp) = event else {
        require(false, "re-framed body gave \(event)", stream)
        return
      }
      again.append(body)
    }
    require(parser.finish() == nil, "re-framed stream left an incomplete message", stream)
    require(again == bodies, "re-framed bodies differ", stream)
  }

  static func checkBody(_ body: [UInt8]) {
    checkIncoming(body)
    let value: JSONValue
    do {
      value = try JSONParser.parse(body)
    } catch {
      require(error.offset >= 0 && error.offset <= body.count, "error offset \(error.offset) outside input", body)
      return
    }
    let written = JSONWriter.encode(value)
    require(!written.contains(0x0A), "writer produced a raw newline", body)
    let again: JSONValue
    do {
      again = try JSONParser.parse(written)
    } catch {
      require(false, "writer output does not parse: \(error)", written)
      return
    }
    require(same(value, again), "value changed through write and re-parse", body)
    require(JSONWriter.encode(again) == written, "writer output is not canonical", body)
    require(classify(value) == classify(again), "classification changed through write and re-parse", body)

    let elements: [JSONValue]
    if case .array(let array) = value { elements = array } else { elements = [value] }
    for element in elements.prefix(64) {
      let message = Message(element)
      for reply in replies(to: message) {
        let bytes = JSONWriter.encode(reply)
        do {
          let parsed = try JSONParser.parse(bytes)
          require(parsed["jsonrpc"] == "2.0", "reply without jsonrpc 2.0", bytes)
          if case .invalid(let id, _) = message, let id {
            require(parsed["id"] == id.json, "invalid message reply lost its id", bytes)
          }
        } catch {
          require(false, "reply does not parse: \(error)", bytes)
        }
      }
    }
  }

  static func checkIncoming(_ body: [UInt8]) {
    func describe(_ result: Result<ReplyRules.Incoming, ResponseError>) -> String {
      switch result {
      case .failure(let error):
        "error \(error.code.rawValue) \(error.message) \(error.data.map(JSONWriter.string) ?? "-")"
      case .success(.single(let message)): "single " + classify(message)
      case .success(.batch(let messages)): "batch " + messages.map(classify).joined(separator: "; ")
      case .success(.emptyBatch): "empty batch"
      }
    }
    let rules = ReplyRules(errors: .plain)
    body.withUnsafeBytes { raw in
      let fast = describe(rules.parseIncoming(raw, maxBatchLength: 1024))
      let reference = describe(rules.parse(raw, maxBatchLength: 1024).map(ReplyRules.classify))
      require(fast == reference, "parseIncoming differs from parse and classify:\n\(fast)\n\(reference)", body)
    }
  }

  /// The replies the connection can write for a message, with a result or
  /// error echoing parts of it.
  static func replies(to message: Message) -> [JSONValue] {
    switch message {
    case .request(let id, let method, let params):
      return [
        Reply.result(params ?? .null, id: id),
        Reply.error(ProtocolErrors.plain.methodNotFound(method), id: id),
        Reply.error(ProtocolErrors.plain.invalidRequest("Invalid request: id \(id) is already in flight"), id: id),
      ]
    case .notification(let method, let params):
      return [Reply.notification(method, params: params ?? .null)]
    case .response(let id):
      return [Reply.error(.cancelled, id: id)]
    case .invalid(let id, let reason):
      return [Reply.error(ProtocolErrors.plain.invalidRequest("Invalid request: \(reason)"), id: id)]
    }
  }

  static func classify(_ message: Message) -> String {
    switch message {
    case .request(let id, let method, let params):
      "request \(id) \(method) \(params.map(JSONWriter.string) ?? "-")"
    case .notification(let method, let params):
      "notification \(method) \(params.map(JSONWriter.string) ?? "-")"
    case .response(let id): "response \(id.map(String.init(describing:)) ?? "-")"
    case .invalid(let id, let reason): "invalid \(id.map(String.init(describing:)) ?? "-") \(reason)"
    }
  }

  static func classify(_ value: JSONValue) -> String {
    if case .array(let elements) = value { return elements.map { classify(Message($0)) }.joined(separator: "\n") }
    return classify(Message(value))
  }

  /// Equality through a write: members compared in order (the writer keeps
  /// it), and a whole double may come back as the integer it spells.
  static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
    case (.double(let x), .int(let y)): return x == Double(y) && abs(x) < 1e15
    case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
    case (.array(let x), .array(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case (.object(let x), .object(let y)):
      return x.count == y.count
        && zip(x.members, y.members).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && same($0.value, $1.value) }
    default: return false
    }
  }

  static func require(_ condition: Bool, _ what: @autoclosure () -> String, _ input: [UInt8]) {
    if condition { return }
    let preview = String(decoding: input.prefix(200), as: UTF8.self).debugDescription
    fatalError("fuzz property violated: \(what()) (input \(input.count) bytes: \(preview))")
  }

  static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
  }
}

/// A tiny deterministic generator, so a saved input replays the same splits.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> Int {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
  }
}
