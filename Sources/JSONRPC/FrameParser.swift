#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
  private var pending: [FrameEvent] = []
  private var pendingIndex = 0

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
    guard pendingIndex < pending.count else { return nil }
    let event = pending[pendingIndex]
    pendingIndex += 1
    if pendingIndex == pending.count {
      pending.removeAll(keepingCapacity: true)
      pendingIndex = 0
    }
    return event
  }

  /// Called at end of input: whatever is left is an incomplete message.
  public mutating func finish() -> FrameEvent? {
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
      while let last = rest.last, Self.isWhitespace(last) { rest = rest.dropLast() }
      if rest.isEmpty { return nil }
      if rest.count > maxMessageBytes { return .oversized(length: rest.count, .ndjson) }
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

  private mutating func emit(_ event: FrameEvent) { pending.append(event) }

  /// Resynchronising may stop at a JSON line unless the client is known to
  /// speak LSP framing only.
  private var resyncAtJSON: Bool { forcedFraming != .lsp }

  private mutating func parse() {
    parsing: while true {
      switch state {
      case .idle:
        while start < buffer.count, Self.isWhitespace(buffer[start]) { start += 1 }
        guard start < buffer.count else { break parsing }
        if forcedFraming == .ndjson || (forcedFraming == nil && Self.startsJSON(buffer[start])) {
          if !readLine() { break parsing }
        } else {
          state = .header(contentLength: nil, invalid: nil, fields: 0)
        }

      case .header(let contentLength, let invalid, let fields):
        guard let newline = nextNewline() else {
          if buffer.count - start > Self.maxHeaderBytes {
            emit(.malformed(reason: "header line longer than \(Self.maxHeaderBytes) bytes", .lsp))
            start = buffer.count
            scanned = 0
            state = .resync(atLineStart: false, json: resyncAtJSON)
            continue parsing
          }
          break parsing
        }
        if newline - start > Self.maxHeaderBytes {
          // Judged the same whether or not the line arrived in one read.
          emit(.malformed(reason: "header line longer than \(Self.maxHeaderBytes) bytes", .lsp))
          start = newline + 1
          state = .resync(atLineStart: true, json: resyncAtJSON)
          continue parsing
        }
        var lineEnd = newline
        while lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let line = buffer[start..<lineEnd]
        if line.isEmpty {
          start = newline + 1
          finishHeader(contentLength: contentLength, invalid: invalid)
          continue parsing
        }
        guard Self.isHeaderField(line) else {
          if fields == 0 {
            // A stray line where a message should start is dropped alone,
            // unless a header was glued to its end (garbage written without
            // a newline before a real message): that header is kept.
            emit(.malformed(reason: "expected a Content-Length header or a JSON value", .lsp))
            if let header = findContentLength(in: start..<newline) {
              start = header
              state = .header(contentLength: nil, invalid: nil, fields: 0)
            } else {
              start = newline + 1
              state = .idle
            }
          } else if resyncAtJSON, Self.startsJSON(buffer[start]) {
            // Headers, then JSON without the blank line: the header block is
            // bad, but the JSON line may well be a message of its own.
            emit(.malformed(reason: "header block not ended by an empty line", .lsp))
            state = .idle
          } else {
            emit(.malformed(reason: "malformed header line", .lsp))
            start = newline + 1
            state = .resync(atLineStart: true, json: resyncAtJSON)
          }
          continue parsing
        }
        start = newline + 1
        state = headerField(line, contentLength: contentLength, invalid: invalid, fields: fields + 1)

      case .body(let length):
        guard buffer.count - start >= length else { break parsing }
        emit(.message(Array(buffer[start..<(start + length)]), .lsp))
        start += length
        state = .idle

      case .resync(let atLineStart, let json):
        if resync(atLineStart: atLineStart, json: json) { continue parsing }
        break parsing

      case .skipBytes(let remaining):
        let dropped = min(remaining, buffer.count - start)
        start += dropped
        if dropped < remaining {
          state = .skipBytes(remaining: remaining - dropped)
          break parsing
        }
        state = .idle

      case .skipLine:
        if let newline = nextNewline() {
          start = newline + 1
          state = .idle
        } else {
          start = buffer.count
          scanned = 0
          break parsing
        }
      }
    }
    compact()
  }

  /// Reads one JSON line; false when it is not complete yet.
  private mutating func readLine() -> Bool {
    guard let newline = nextNewline() else {
      if buffer.count - start > maxMessageBytes {
        emit(.oversized(length: nil, .ndjson))
        start = buffer.count
        scanned = 0
        state = .skipLine
        return true
      }
      return false
    }
    var end = newline
    if forcedFraming == nil, let header = findGluedHeader(in: start..<newline) {
      // `{...}Content-Length: N`: a JSON value with an LSP header glued to
      // it, which is what a body shorter than its Content-Length, or one
      // whose header was lost, leaves behind. Without this split, every
      // later LSP message would be read as one broken line with the next
      // one's header.
      end = header
      while end > start, Self.isWhitespace(buffer[end - 1]) { end -= 1 }
      emit(.message(Array(buffer[start..<end]), .ndjson))
      start = header
      state = .header(contentLength: nil, invalid: nil, fields: 0)
      return true
    }
    while end > start, Self.isWhitespace(buffer[end - 1]) { end -= 1 }
    if end - start > maxMessageBytes {
      emit(.oversized(length: end - start, .ndjson))
    } else {
      emit(.message(Array(buffer[start..<end]), .ndjson))
    }
    start = newline + 1
    return true
  }

  /// Scans forward for `Content-Length:` anywhere, or (when `json`) for a
  /// whole line that starts with `{` or `[` and holds no `Content-Length:`
  /// (so the body of a bad LSP message, glued to the next header, is not
  /// taken for a JSON line). True when the parser found where to go on.
  ///
  /// While a candidate JSON line is incomplete, `start` stays on its first
  /// byte and `scanned` says how far it has been searched.
  private mutating func resync(atLineStart: Bool, json: Bool) -> Bool {
    let needle = Self.contentLengthNeedle
    let count = buffer.count
    var candidate: Int? = json && atLineStart && start < count && Self.startsJSON(buffer[start]) ? start : nil
    var i = candidate == nil ? start : start + scanned
    var lineStart = candidate == nil ? atLineStart : false
    while i < count {
      let byte = buffer[i]
      if candidate == nil, json, lineStart, Self.startsJSON(byte) { candidate = i }
      if byte == 0x0A, let line = candidate {
        start = line
        scanned = 0
        state = .idle
        return true
      }
      if byte | 0x20 == needle[0] {
        if count - i < needle.count { break }  // Maybe a split "Content-Length:"; wait.
        var match = true
        for j in 1..<needle.count where buffer[i + j] | 0x20 != needle[j] {
          match = false
          break
        }
        if match {
          start = i
          scanned = 0
          state = .header(contentLength: nil, invalid: nil, fields: 0)
          return true
        }
      }
      lineStart = byte == 0x0A || (lineStart && Self.isWhitespace(byte))
      i += 1
    }
    if let line = candidate, i - line <= maxMessageBytes {
      start = line
      scanned = i - line
      state = .resync(atLineStart: true, json: json)
    } else {
      start = i
      scanned = 0
      state = .resync(atLineStart: lineStart && candidate == nil, json: json)
    }
    return false
  }

  /// The first `content-length:` (any case) in `range`.
  private func findContentLength(in range: Range<Int>) -> Int? {
    let needle = Self.contentLengthNeedle
    guard range.count >= needle.count else { return nil }
    return buffer.withUnsafeBufferPointer { bytes in
      var i = range.lowerBound
      let last = range.upperBound - needle.count
      while i <= last {
        if bytes[i] | 0x20 == needle[0] {
          var j = 1
          while j < needle.count, bytes[i + j] | 0x20 == needle[j] { j += 1 }
          if j == needle.count { return i }
        }
        i += 1
      }
      return nil
    }
  }

  /// The offset of a `content-length:` that directly follows a `}` or `]`
  /// (spaces allowed) in `range`: where a glued header starts.
  private func findGluedHeader(in range: Range<Int>) -> Int? {
    let needle = Self.contentLengthNeedle
    guard range.count > needle.count else { return nil }
    return buffer.withUnsafeBufferPointer { bytes in
      var i = range.lowerBound
      let last = range.upperBound - needle.count
      while i < last {
        let byte = bytes[i]
        i += 1
        guard byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") else { continue }
        var k = i
        while k <= last, bytes[k] == 0x20 || bytes[k] == 0x09 { k += 1 }
        guard k <= last, bytes[k] | 0x20 == needle[0] else { continue }
        var j = 1
        while j < needle.count, bytes[k + j] | 0x20 == needle[j] { j += 1 }
        if j == needle.count { return k }
      }
      return nil
    }
  }

  /// Lowercase `content-length:`; `| 0x20` lowercases letters and keeps `-`
  /// and `:` as they are.
  private static let contentLengthNeedle: [UInt8] = Array("content-length:".utf8)

  /// `token ":" value`, with RFC 7230 token characters in the name.
  private static func isHeaderField(_ line: ArraySlice<UInt8>) -> Bool {
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return false }
    return line[..<colon].allSatisfy { byte in
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
      default:
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
      }
    }
  }

  private func headerField(_ line: ArraySlice<UInt8>, contentLength: Int?, invalid: String?, fields: Int) -> State {
    // The common header, read straight from the bytes: this runs for every
    // LSP message, so it allocates nothing.
    if invalid == nil, let length = Self.plainContentLength(line) {
      if let contentLength, contentLength != length {
        return .header(contentLength: nil, invalid: "conflicting Content-Length headers", fields: fields)
      }
      return .header(contentLength: length, invalid: nil, fields: fields)
    }
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
      // `application/vscode-jsonrpc; charset=utf-8`; `utf8` is the legacy
      // spelling LSP asks servers to accept. Any other charset is refused.
      let lowered = value.lowercased()
      for parameter in lowered.split(separator: ";").dropFirst() {
        let pair = parameter.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, pair[0].trimmingCharacters(in: " \t") == "charset" else { continue }
        let charset = pair[1].trimmingCharacters(in: "\" \t")
        if charset != "utf-8" && charset != "utf8" {
          return keep("unsupported charset \(charset): only utf-8 is accepted")
        }
      }
      return keep()
    default:
      return keep()  // Unknown headers are ignored.
    }
  }

  /// `Content-Length: <1-18 digits>` (any case, optional blanks), else nil.
  private static func plainContentLength(_ line: ArraySlice<UInt8>) -> Int? {
    let needle = contentLengthNeedle
    guard line.count > needle.count else { return nil }
    var i = line.startIndex
    for expected in needle {
      guard line[i] | 0x20 == expected else { return nil }
      i += 1
    }
    while i < line.endIndex, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
    var end = line.endIndex
    while end > i, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
    guard end > i, end - i <= maxLengthDigits else { return nil }
    var value = 0
    while i < end {
      let digit = line[i] &- UInt8(ascii: "0")
      guard digit < 10 else { return nil }
      value = value * 10 + Int(digit)
      i += 1
    }
    return value
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
  /// linear however many messages pass through.
  private mutating func compact() {
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
