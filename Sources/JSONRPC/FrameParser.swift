import Support

/// How a message is delimited on the stream.
public enum Framing: String, Sendable, CaseIterable {
  /// LSP base protocol: `Content-Length: N\r\n\r\n` then N bytes.
  case lsp
  /// One JSON value per line.
  case ndjson
}

/// What the frame parser found next in the stream.
public enum FrameEvent: Equatable, Sendable {
  /// A complete message body, and the framing it came in.
  case message([UInt8], Framing)
  /// A header or line that cannot be a message: answer -32700 with id null.
  case malformed(reason: String, Framing)
  /// A message over the size limit, being discarded as it streams in:
  /// answer -32600 with id null.
  case oversized(length: Int?, Framing)
}

/// A `FrameEvent` whose message body is lent out of the parser's buffer
/// instead of copied: valid only inside the closure given to
/// `FrameParser.withNext(_:)`.
public enum LentFrameEvent {
  case message(UnsafeRawBufferPointer, Framing)
  case malformed(reason: String, Framing)
  case oversized(length: Int?, Framing)

  /// Hands `event` to `body` as a lent event.
  static func lending<R>(_ event: FrameEvent, _ body: (LentFrameEvent) throws -> R) rethrows -> R {
    switch event {
    case .message(let bytes, let framing): try bytes.withUnsafeBytes { try body(.message($0, framing)) }
    case .malformed(let reason, let framing): try body(.malformed(reason: reason, framing))
    case .oversized(let length, let framing): try body(.oversized(length: length, framing))
    }
  }
}

/// Splits a byte stream into messages of either framing, detected per message
/// from its first byte (`{` or `[` is a JSON line, anything else a header).
///
/// The parser owns one buffer that the reader appends large chunks to and
/// parses out of, so a message costs no syscall of its own, and it remembers
/// how far it has searched an incomplete line so a long line costs linear,
/// not quadratic, time. Oversized LSP bodies are dropped as they arrive and
/// never buffered. After a bad header the parser resynchronises at the next
/// `Content-Length` (or, when the client seems to be writing JSON lines, at
/// the next line that starts a JSON value), so one broken message cannot
/// swallow the ones after it.
///
/// Header lines end at `\n`; any `\r` before it is dropped. That accepts the
/// `\r\r\n` a Windows text-mode pipe makes of `\r\n`, where a strict reader
/// would wait forever for `\r\n\r\n`.
public struct FrameParser: Sendable {
  /// Longest header line that is taken seriously.
  public static let maxHeaderBytes = 8 * 1024
  /// Content-Length values with more digits than this are not lengths.
  static let maxLengthDigits = 18

  public let maxMessageBytes: Int
  public let forcedFraming: Framing?

  private var buffer: [UInt8] = []
  /// First unconsumed byte of `buffer`.
  private var start = 0
  /// Bytes after `start` already searched for a newline without finding one.
  private var scanned = 0
  private var state = State.idle
  private var pending: [Pending] = []
  private var pendingIndex = 0
  /// Bodies in `pending` not yet handed out: while there are any, the
  /// buffer is not compacted, since they are ranges of it.
  private var pendingBodies = 0

  /// An event found but not yet taken; a message is the range of `buffer`
  /// that holds its body.
  private enum Pending: Sendable {
    case body(Range<Int>, Framing)
    case event(FrameEvent)
  }

  private enum State: Sendable, Equatable {
    case idle
    /// Inside an LSP header block; `fields` counts the lines read.
    case header(contentLength: Int?, invalid: String?, fields: Int)
    case body(length: Int)
    /// Discarding the rest of an oversized or rejected LSP body.
    case skipBytes(remaining: Int)
    /// Discarding the rest of an oversized line.
    case skipLine
    /// After a bad header: discarding up to the next `Content-Length`, or to
    /// the next line that starts with `{` or `[` when `json` is set.
    case resync(atLineStart: Bool, json: Bool)
  }

  public init(maxMessageBytes: Int = 64 << 20, forcedFraming: Framing? = nil) {
    self.maxMessageBytes = maxMessageBytes
    self.forcedFraming = forcedFraming
  }

  /// Bytes held for messages not yet complete.
  public var bufferedCount: Int { buffer.count - start }

  /// Feeds bytes read from the stream. Discarding states consume from the
  /// chunk directly so that skipped bytes are never copied.
  public mutating func append(_ chunk: UnsafeRawBufferPointer) {
    var chunk = chunk[...]
    while !chunk.isEmpty {
      switch state {
      case .skipBytes(let remaining):
        let dropped = min(remaining, chunk.count)
        chunk = chunk.dropFirst(dropped)
        state = remaining == dropped ? .idle : .skipBytes(remaining: remaining - dropped)
      case .skipLine:
        if let newline = chunk.firstIndex(of: UInt8(ascii: "\n")) {
          chunk = chunk[(newline + 1)...]
          state = .idle
        } else {
          chunk = chunk[chunk.endIndex...]
        }
      default:
        compact()
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk))
        chunk = chunk[chunk.endIndex...]
        parse()
      }
    }
  }

  public mutating func append(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { append($0) }
  }

  /// The next event, if a whole one is available.
  public mutating func next() -> FrameEvent? {
    guard let entry = takePending() else { return nil }
    switch entry {
    case .body(let range, let framing): return .message(Array(buffer[range]), framing)
    case .event(let event): return event
    }
  }

  /// Hands the next event, if a whole one is available, to `body` and
  /// returns what it returns. A message's body is lent straight out of the
  /// parser's buffer, so the reader copies no message it parses.
  public mutating func withNext<R>(_ body: (LentFrameEvent) throws -> R) rethrows -> R? {
    guard let entry = takePending() else { return nil }
    switch entry {
    case .body(let range, let framing):
      return try buffer.withUnsafeBytes { bytes in
        try body(.message(UnsafeRawBufferPointer(rebasing: bytes[range]), framing))
      }
    case .event(let event):
      return try LentFrameEvent.lending(event, body)
    }
  }

  private mutating func takePending() -> Pending? {
    guard pendingIndex < pending.count else { return nil }
    let entry = pending[pendingIndex]
    pendingIndex += 1
    if pendingIndex == pending.count {
      pending.removeAll(keepingCapacity: true)
      pendingIndex = 0
    }
    if case .body = entry { pendingBodies -= 1 }
    return entry
  }

  /// Called at end of input: whatever is left is an incomplete message.
  public mutating func finish() -> FrameEvent? {
    // Bodies not taken yet would outlive the buffer they are ranges of.
    for index in pendingIndex..<pending.count {
      if case .body(let range, let framing) = pending[index] {
        pending[index] = .event(.message(Array(buffer[range]), framing))
      }
    }
    pendingBodies = 0
    defer {
      buffer = []
      start = 0
      scanned = 0
      state = .idle
    }
    switch state {
    case .body:
      return .malformed(reason: "end of input inside a message body", .lsp)
    case .header(_, _, let fields):
      let rest = buffer[start...]
      if fields == 0 && rest.allSatisfy(Self.isWhitespace) { return nil }
      return .malformed(reason: "end of input inside a header", .lsp)
    case .idle:
      // A last JSON line without its newline is still a whole message.
      var rest = buffer[start...].drop(while: Self.isWhitespace)
      let rawCount = rest.count  // Measured as readLine measures a line.
      while let last = rest.last, Self.isWhitespace(last) { rest = rest.dropLast() }
      if rest.isEmpty { return nil }
      if rawCount > maxMessageBytes { return .oversized(length: nil, .ndjson) }
      return .message(Array(rest), .ndjson)
    case .skipBytes, .skipLine, .resync:
      return nil
    }
  }

  @inline(__always) private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
  }

  @inline(__always) private static func startsJSON(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[")
  }

  private mutating func emit(_ event: FrameEvent) { pending.append(.event(event)) }

  private mutating func emitBody(_ range: Range<Int>, _ framing: Framing) {
    pending.append(.body(range, framing))
    pendingBodies += 1
  }

  /// Resynchronising may stop at a JSON line unless the client is known to
  /// speak LSP framing only.
  private var resyncAtJSON: Bool { forcedFraming != .lsp }

  private mutating func parse() {
    while step() {}
    compact()
  }

  /// Takes one step through the states; false when the buffer holds too
  /// little for another.
  private mutating func step() -> Bool {
    switch state {
    case .idle: return startMessage()
    case .header(let contentLength, let invalid, let fields):
      return readHeaderLine(contentLength: contentLength, invalid: invalid, fields: fields)
    case .body(let length): return readBody(length: length)
    case .resync(let atLineStart, let json): return resync(atLineStart: atLineStart, json: json)
    case .skipBytes(let remaining): return skipBuffered(remaining)
    case .skipLine: return skipBufferedLine()
    }
  }

  /// Skips the blanks between messages and reads the next one's first byte
  /// to tell its framing.
  private mutating func startMessage() -> Bool {
    while start < buffer.count, Self.isWhitespace(buffer[start]) { start += 1 }
    guard start < buffer.count else { return false }
    if forcedFraming == .ndjson || (forcedFraming == nil && Self.startsJSON(buffer[start])) {
      return readLine()
    }
    state = .header(contentLength: nil, invalid: nil, fields: 0)
    return true
  }

  private mutating func readBody(length: Int) -> Bool {
    guard buffer.count - start >= length else { return false }
    emitBody(start..<(start + length), .lsp)
    start += length
    state = .idle
    return true
  }

  private mutating func skipBuffered(_ remaining: Int) -> Bool {
    let dropped = min(remaining, buffer.count - start)
    start += dropped
    guard dropped == remaining else {
      state = .skipBytes(remaining: remaining - dropped)
      return false
    }
    state = .idle
    return true
  }

  private mutating func skipBufferedLine() -> Bool {
    guard let newline = nextNewline() else {
      start = buffer.count
      scanned = 0
      return false
    }
    start = newline + 1
    state = .idle
    return true
  }

  // MARK: LSP headers

  /// Reads one header line, or the empty line that ends the block.
  private mutating func readHeaderLine(contentLength: Int?, invalid: String?, fields: Int) -> Bool {
    let newline = nextNewline()
    if (newline ?? buffer.count) - start > Self.maxHeaderBytes {
      rejectLongHeaderLine()
      return true
    }
    guard let newline else { return false }
    var lineEnd = newline
    while lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
    let line = buffer[start..<lineEnd]
    if line.isEmpty {
      start = newline + 1
      finishHeader(contentLength: contentLength, invalid: invalid)
    } else if let length = contentLengthValue(line) {
      start = newline + 1
      state = Self.adding(length: length, to: contentLength, invalid: invalid, fields: fields + 1)
    } else if Self.isHeaderField(line) {
      start = newline + 1
      state = headerField(line, contentLength: contentLength, invalid: invalid, fields: fields + 1)
    } else {
      rejectHeaderLine(endingAt: newline, fields: fields)
    }
    return true
  }

  /// Judged, and resynchronised from, the same byte whether or not the line
  /// arrived in one read: just past the limit, so that a `Content-Length`
  /// in the tail of an overlong line counts or not regardless of read size.
  private mutating func rejectLongHeaderLine() {
    emit(.malformed(reason: "header line longer than \(Self.maxHeaderBytes) bytes", .lsp))
    start += Self.maxHeaderBytes + 1
    scanned = 0
    state = .resync(atLineStart: false, json: resyncAtJSON)
  }

  /// A line in a header block that is not `name: value`.
  private mutating func rejectHeaderLine(endingAt newline: Int, fields: Int) {
    if fields == 0 {
      rejectStrayLine(endingAt: newline)
    } else if resyncAtJSON, Self.startsJSON(buffer[start]) {
      // Headers, then JSON without the blank line: the header block is bad,
      // but the JSON line may well be a message of its own.
      emit(.malformed(reason: "header block not ended by an empty line", .lsp))
      state = .idle
    } else {
      emit(.malformed(reason: "malformed header line", .lsp))
      start = newline + 1
      state = .resync(atLineStart: true, json: resyncAtJSON)
    }
  }

  /// A stray line where a message should start is dropped alone, unless a
  /// header was glued to its end (garbage written without a newline before a
  /// real message): that header is kept. The search starts at the line's
  /// second byte so that the parser moves on even when the line itself
  /// starts with something header-like.
  private mutating func rejectStrayLine(endingAt newline: Int) {
    emit(.malformed(reason: "expected a Content-Length header or a JSON value", .lsp))
    if let header = firstContentLength(in: (start + 1)..<newline) {
      start = header
      state = .header(contentLength: nil, invalid: nil, fields: 0)
    } else {
      start = newline + 1
      state = .idle
    }
  }

  private mutating func finishHeader(contentLength: Int?, invalid: String?) {
    switch (contentLength, invalid) {
    case (let length?, let reason?):
      // The length is known, so the body can be skipped exactly.
      emit(.malformed(reason: reason, .lsp))
      state = .skipBytes(remaining: length)
    case (nil, let reason):
      // The body's length is unknown: skip to the next header, or to the
      // next JSON line for a client that writes those.
      emit(.malformed(reason: reason ?? "missing Content-Length header", .lsp))
      state = .resync(atLineStart: true, json: resyncAtJSON)
    case (let length?, nil) where length > maxMessageBytes:
      emit(.oversized(length: length, .lsp))
      state = .skipBytes(remaining: length)
    case (let length?, nil):
      state = .body(length: length)
    }
  }

  /// The value of `Content-Length: <1-18 digits>` (any case, optional
  /// blanks around the digits), else nil. Every LSP message has one, so
  /// this reads the bytes and allocates nothing.
  private func contentLengthValue(_ line: ArraySlice<UInt8>) -> Int? {
    guard line.count > Self.contentLengthNeedle.count, isContentLength(at: line.startIndex) else { return nil }
    var i = line.startIndex + Self.contentLengthNeedle.count
    var end = line.endIndex
    while i < end, Self.isBlank(line[i]) { i += 1 }
    while end > i, Self.isBlank(line[end - 1]) { end -= 1 }
    guard end > i, end - i <= Self.maxLengthDigits else { return nil }
    var value = 0
    for byte in line[i..<end] {
      let digit = byte &- UInt8(ascii: "0")
      guard digit < 10 else { return nil }
      value = value * 10 + Int(digit)
    }
    return value
  }

  /// A header block that has read `length` in a Content-Length header. An
  /// invalid block keeps the reason it had, but still learns the length so
  /// that its body can be skipped exactly.
  private static func adding(length: Int, to contentLength: Int?, invalid: String?, fields: Int) -> State {
    if let contentLength, contentLength != length {
      return .header(contentLength: nil, invalid: invalid ?? "conflicting Content-Length headers", fields: fields)
    }
    return .header(contentLength: length, invalid: invalid, fields: fields)
  }

  /// Any header line but a plain Content-Length: those that need reading as
  /// text (an odd Content-Length, Content-Type) and those that are ignored.
  private func headerField(_ line: ArraySlice<UInt8>, contentLength: Int?, invalid: String?, fields: Int) -> State {
    let colon = line.firstIndex(of: UInt8(ascii: ":"))!
    let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
    let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
    func keep(_ invalidNow: String? = nil, length: Int? = contentLength) -> State {
      .header(contentLength: length, invalid: invalid ?? invalidNow, fields: fields)
    }
    switch name {
    case "content-length":
      guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return keep("Content-Length is not a number: \(value.prefix(40))", length: nil)
      }
      guard value.utf8.count <= Self.maxLengthDigits, let length = Int(value) else {
        // Not a length anyone can send; treat it as noise and resynchronise.
        return keep("Content-Length out of range: \(value.prefix(40))", length: nil)
      }
      if let contentLength, contentLength != length {
        return keep("conflicting Content-Length headers", length: nil)
      }
      return keep(length: length)
    case "content-type":
      return keep(Self.charsetProblem(value))
    default:
      return keep()  // Unknown headers are ignored.
    }
  }

  /// Why a Content-Type is refused, or nil. `utf8` is the legacy spelling
  /// of `utf-8` that LSP asks servers to accept; any other charset is refused
  /// (`application/vscode-jsonrpc; charset=utf-8`).
  private static func charsetProblem(_ contentType: String) -> String? {
    for parameter in contentType.lowercased().split(separator: ";").dropFirst() {
      let pair = parameter.split(separator: "=", maxSplits: 1)
      guard pair.count == 2, pair[0].trimmingCharacters(in: " \t") == "charset" else { continue }
      let charset = pair[1].trimmingCharacters(in: "\" \t")
      if charset != "utf-8" && charset != "utf8" {
        return "unsupported charset \(charset): only utf-8 is accepted"
      }
    }
    return nil
  }

  /// `token ":" value`, with RFC 7230 token characters in the name.
  private static func isHeaderField(_ line: ArraySlice<UInt8>) -> Bool {
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return false }
    return line[..<colon].allSatisfy(isTokenByte)
  }

  @inline(__always) private static func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
      UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
      UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
      return true
    default:
      return false
    }
  }

  // MARK: JSON lines

  /// Reads one JSON line; false when it is not complete yet.
  private mutating func readLine() -> Bool {
    guard let newline = nextNewline() else { return rejectIncompleteLongLine() }
    // The limit applies to the line as sent (less the `\r` of a `\r\n`),
    // trailing blanks included: that is what the incomplete-line check can
    // see, and the verdict must not depend on where the reads split. For
    // the same reason an oversized line never carries its length, and it is
    // judged before looking for a glued header.
    let rawEnd = newline > start && buffer[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
    if rawEnd - start > maxMessageBytes {
      emit(.oversized(length: nil, .ndjson))
      start = newline + 1
      return true
    }
    if forcedFraming == nil, let header = gluedHeader(in: start..<newline) {
      // `{...}Content-Length: N`: a JSON value with an LSP header glued to
      // it, which is what a body shorter than its Content-Length, or one
      // whose header was lost, leaves behind. Without this split, every
      // later LSP message would be read as one broken line with the next
      // one's header.
      emitLine(endingAt: header)
      start = header
      state = .header(contentLength: nil, invalid: nil, fields: 0)
      return true
    }
    emitLine(endingAt: newline)
    start = newline + 1
    return true
  }

  /// A line without its newline yet that is already too long: dropped up to
  /// the newline to come. One byte of slack for a `\r` that the coming `\n`
  /// would strip.
  private mutating func rejectIncompleteLongLine() -> Bool {
    guard buffer.count - start > maxMessageBytes + 1 else { return false }
    emit(.oversized(length: nil, .ndjson))
    start = buffer.count
    scanned = 0
    state = .skipLine
    return true
  }

  /// The line from `start` to `end`, trailing blanks dropped, as a message.
  private mutating func emitLine(endingAt end: Int) {
    var end = end
    while end > start, Self.isWhitespace(buffer[end - 1]) { end -= 1 }
    emitBody(start..<end, .ndjson)
  }

  // MARK: Resynchronising

  /// Scans forward for `Content-Length:` anywhere, or (when `json`) for a
  /// whole line that starts with `{` or `[` and holds no `Content-Length:`
  /// (so the body of a bad LSP message, glued to the next header, is not
  /// taken for a JSON line). True when the parser found where to go on.
  ///
  /// While a candidate JSON line is incomplete, `start` stays on its first
  /// byte and `scanned` says how far it has been searched.
  private mutating func resync(atLineStart: Bool, json: Bool) -> Bool {
    let count = buffer.count
    var candidate: Int? = json && atLineStart && start < count && Self.startsJSON(buffer[start]) ? start : nil
    var i = candidate == nil ? start : start + scanned
    var lineStart = candidate == nil ? atLineStart : false
    while i < count {
      let byte = buffer[i]
      if candidate == nil, json, lineStart, Self.startsJSON(byte) { candidate = i }
      if byte != 0x0A, let line = candidate, i - line > maxMessageBytes {
        // Too long to be a message whatever follows: said at this byte,
        // where it is known however the stream was chunked.
        emit(.oversized(length: nil, .ndjson))
        candidate = nil
      }
      if byte == 0x0A, let line = candidate {
        start = line
        scanned = 0
        state = .idle
        return true
      }
      if Self.folds(byte, to: Self.contentLengthNeedle[0]) {
        if count - i < Self.contentLengthNeedle.count { break }  // Maybe a split "Content-Length:"; wait.
        if isContentLength(at: i) {
          start = i
          scanned = 0
          state = .header(contentLength: nil, invalid: nil, fields: 0)
          return true
        }
      }
      lineStart = byte == 0x0A || (lineStart && Self.isWhitespace(byte))
      i += 1
    }
    if let line = candidate {
      start = line
      scanned = i - line
      state = .resync(atLineStart: true, json: json)
    } else {
      start = i
      scanned = 0
      state = .resync(atLineStart: lineStart, json: json)
    }
    return false
  }

  // MARK: Finding `Content-Length:`

  /// Lowercase `content-length:`, matched with `folds(_:to:)`.
  private static let contentLengthNeedle: [UInt8] = Array("content-length:".utf8)

  /// Whether `content-length:` (any case) is at `offset`, whole, in the
  /// buffer. The one matcher every search for a header goes through.
  private func isContentLength(at offset: Int) -> Bool {
    let needle = Self.contentLengthNeedle
    guard offset >= 0, buffer.count - offset >= needle.count else { return false }
    return buffer.withUnsafeBufferPointer { bytes in
      for j in 0..<needle.count where !Self.folds(bytes[offset + j], to: needle[j]) { return false }
      return true
    }
  }

  /// The first `content-length:` that lies wholly in `range`.
  private func firstContentLength(in range: Range<Int>) -> Int? {
    let last = range.upperBound - Self.contentLengthNeedle.count
    guard last >= range.lowerBound else { return nil }
    return (range.lowerBound...last).first(where: isContentLength(at:))
  }

  /// The offset of a `content-length:` that directly follows (blanks
  /// allowed) the `}` or `]` closing the line's top-level value: where a
  /// glued header starts. Strings are skipped, escapes included: a file name
  /// such as `a}Content-Length: 2` is data, and splitting there would leave
  /// its request without a reply.
  private func gluedHeader(in range: Range<Int>) -> Int? {
    let last = range.upperBound - Self.contentLengthNeedle.count
    var depth = 0
    var inString = false
    var escaped = false
    var i = range.lowerBound
    while i < last {
      let byte = buffer[i]
      i += 1
      if inString {
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""):
        inString = true
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        // A stray closer outside any value counts as an end too, as before.
        depth = max(depth - 1, 0)
        guard depth == 0 else { continue }
        var k = i
        while k <= last, Self.isBlank(buffer[k]) { k += 1 }
        if k <= last, isContentLength(at: k) { return k }
      default:
        continue
      }
    }
    return nil
  }

  /// `byte` is `expected` (a lowercase needle byte) in either case. Only
  /// letters fold: `byte | 0x20` would also make `\r` a `-` and 0x1A a `:`,
  /// so that `Content-Length<0x1A> 2` passed for a header that no header
  /// parser accepts, and the parser spun on it for ever.
  @inline(__always) private static func folds(_ byte: UInt8, to expected: UInt8) -> Bool {
    byte == expected || (expected >= UInt8(ascii: "a") && expected <= UInt8(ascii: "z") && byte == expected - 0x20)
  }

  @inline(__always) private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

  // MARK: The buffer

  /// The next `\n` at or after `start`, remembering how far a failed search
  /// got so that the next call does not read those bytes again.
  private mutating func nextNewline() -> Int? {
    let from = start + scanned
    let count = buffer.count
    guard from < count else { return nil }
    let found: Int? = buffer.withUnsafeBytes { raw in
      guard let hit = memchr(raw.baseAddress! + from, 0x0A, count - from) else { return nil }
      return raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
    }
    if let found {
      scanned = 0
      return found
    }
    scanned = count - start
    return nil
  }

  /// Drops consumed bytes once they dominate the buffer, so that growth stays
  /// linear however many messages pass through; not while bodies are lent
  /// from it.
  private mutating func compact() {
    guard pendingBodies == 0 else { return }
    if start == buffer.count {
      buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
      start = 0
      scanned = 0
    } else if start > 64 * 1024 && start > buffer.count / 2 {
      buffer.removeSubrange(0..<start)
      start = 0
    }
  }
}

extension String {
  func trimmingSpaces() -> String { trimmingCharacters(in: " \t") }

  func trimmingCharacters(in set: String) -> String {
    let chars = Set(set)
    var slice = Substring(self)
    while let first = slice.first, chars.contains(first) { slice = slice.dropFirst() }
    while let last = slice.last, chars.contains(last) { slice = slice.dropLast() }
    return String(slice)
  }
}

extension Substring {
  func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
