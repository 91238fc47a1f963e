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
/// The parser owns one growing buffer that the reader appends large chunks to
/// and parses out of, so a message costs no syscall of its own. Oversized
/// messages are dropped as they arrive and never buffered whole; a bad header
/// makes the parser skip to the next `Content-Length` so that one broken
/// message cannot swallow the ones after it.
public struct FrameParser: Sendable {
  /// Longest header line, or header block, that is taken seriously.
  public static let maxHeaderBytes = 8 * 1024

  public let maxMessageBytes: Int
  public let forcedFraming: Framing?

  private var buffer: [UInt8] = []
  private var start = 0
  private var state = State.idle
  private var pending: [FrameEvent] = []
  private var sawHeaderField = false

  private enum State: Sendable {
    case idle
    /// Header fields read so far in an LSP header block.
    case header(contentLength: Int?, invalid: String?)
    case body(length: Int)
    /// Discarding the rest of an oversized LSP body.
    case skipBytes(remaining: Int)
    /// Discarding the rest of an oversized or broken line.
    case skipLine
    /// After a bad header block: discarding up to the next `Content-Length`.
    case resync
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
    if pending.isEmpty { return nil }
    return pending.removeFirst()
  }

  /// Called at end of input: whatever is left is an incomplete message.
  public mutating func finish() -> FrameEvent? {
    defer { buffer = []; start = 0; state = .idle }
    switch state {
    case .body, .header:
      return .malformed(reason: "end of input inside a message", .lsp)
    case .idle:
      // A last NDJSON line without its newline is still a whole message.
      let rest = buffer[start...].drop(while: Self.isWhitespace)
      if rest.isEmpty { return nil }
      if rest.first == UInt8(ascii: "{") || rest.first == UInt8(ascii: "[") || forcedFraming == .ndjson {
        return .message(Array(rest), .ndjson)
      }
      return .malformed(reason: "end of input inside a header", .lsp)
    default:
      return nil
    }
  }

  private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
  }

  private mutating func emit(_ event: FrameEvent) { pending.append(event) }

  private mutating func parse() {
    parsing: while true {
      switch state {
      case .idle:
        while start < buffer.count, Self.isWhitespace(buffer[start]) { start += 1 }
        guard start < buffer.count else { break parsing }
        let first = buffer[start]
        let isJSON = first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        switch forcedFraming {
        case .ndjson?:
          if !readLine() { break parsing }
        case .lsp?:
          state = .header(contentLength: nil, invalid: nil)
        case nil:
          if isJSON {
            if !readLine() { break parsing }
          } else {
            state = .header(contentLength: nil, invalid: nil)
          }
        }
      case .header(let contentLength, let invalid):
        guard let newline = firstNewline(from: start) else {
          if buffer.count - start > Self.maxHeaderBytes {
            emit(.malformed(reason: "header line too long", .lsp))
            start = buffer.count
            state = .resync
            continue parsing
          }
          break parsing
        }
        var lineEnd = newline
        if lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let line = buffer[start..<lineEnd]
        start = newline + 1
        if line.isEmpty {
          finishHeader(contentLength: contentLength, invalid: invalid)
          continue parsing
        }
        let isFirstLine = contentLength == nil && invalid == nil && !sawHeaderField
        sawHeaderField = true
        guard isHeaderField(line) else {
          emit(.malformed(reason: "malformed header line", .lsp))
          // A stray line before any header is dropped alone; a broken line
          // inside a header block takes the block with it.
          sawHeaderField = false
          state = isFirstLine ? .idle : .resync
          continue parsing
        }
        state = headerField(line, contentLength: contentLength, invalid: invalid)
      case .body(let length):
        guard buffer.count - start >= length else { break parsing }
        emit(.message(Array(buffer[start..<(start + length)]), .lsp))
        start += length
        state = .idle
      case .resync:
        guard let found = findContentLength() else {
          // Keep a tail long enough to hold a split "Content-Length".
          start = max(start, buffer.count - 15)
          break parsing
        }
        start = found
        state = .header(contentLength: nil, invalid: nil)
      case .skipBytes(let remaining):
        let dropped = min(remaining, buffer.count - start)
        start += dropped
        if dropped < remaining {
          state = .skipBytes(remaining: remaining - dropped)
          break parsing
        }
        state = .idle
      case .skipLine:
        if let newline = firstNewline(from: start) {
          start = newline + 1
          state = .idle
        } else {
          start = buffer.count
          break parsing
        }
      }
    }
    compact()
  }

  /// Reads one NDJSON line; false when it is not complete yet.
  private mutating func readLine() -> Bool {
    guard let newline = firstNewline(from: start) else {
      if buffer.count - start > maxMessageBytes {
        emit(.oversized(length: nil, .ndjson))
        start = buffer.count
        state = .skipLine
        return true
      }
      return false
    }
    var end = newline
    if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    if end - start > maxMessageBytes {
      emit(.oversized(length: end - start, .ndjson))
    } else {
      emit(.message(Array(buffer[start..<end]), .ndjson))
    }
    start = newline + 1
    return true
  }

  /// `token ":" value`, with RFC 7230 token characters in the name.
  private func isHeaderField(_ line: ArraySlice<UInt8>) -> Bool {
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

  private func headerField(_ line: ArraySlice<UInt8>, contentLength: Int?, invalid: String?) -> State {
    let colon = line.firstIndex(of: UInt8(ascii: ":"))!
    let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
    let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
    switch name {
    case "content-length":
      guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return .header(contentLength: nil, invalid: invalid ?? "Content-Length is not a number")
      }
      // An absurd length still has to be skipped; clamp rather than fail.
      return .header(contentLength: Int(value) ?? Int.max, invalid: invalid)
    case "content-type":
      let lowered = value.lowercased()
      for parameter in lowered.split(separator: ";").dropFirst() {
        let pair = parameter.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, pair[0].trimmingCharacters(in: " \t") == "charset" else { continue }
        let charset = pair[1].trimmingCharacters(in: "\" \t")
        if charset != "utf-8" && charset != "utf8" {
          return .header(contentLength: contentLength, invalid: invalid ?? "unsupported charset \(charset)")
        }
      }
      return .header(contentLength: contentLength, invalid: invalid)
    default:
      return .header(contentLength: contentLength, invalid: invalid)  // Unknown headers are ignored.
    }
  }

  private mutating func finishHeader(contentLength: Int?, invalid: String?) {
    sawHeaderField = false
    switch (contentLength, invalid) {
    case (let length?, let reason?):
      // The length is known, so the body can be skipped exactly.
      emit(.malformed(reason: reason, .lsp))
      state = .skipBytes(remaining: length)
    case (nil, let reason):
      emit(.malformed(reason: reason ?? "missing Content-Length header", .lsp))
      state = .resync
    case (let length?, nil) where length > maxMessageBytes:
      emit(.oversized(length: length, .lsp))
      state = .skipBytes(remaining: length)
    case (let length?, nil):
      state = .body(length: length)
    }
  }

  private func firstNewline(from index: Int) -> Int? {
    buffer.withUnsafeBufferPointer { buffer in
      var i = index
      while i < buffer.count {
        if buffer[i] == 0x0A { return i }
        i += 1
      }
      return nil
    }
  }

  /// The offset of the next "content-length:" (any case) at or after `start`.
  private func findContentLength() -> Int? {
    let needle = Array("content-length:".utf8)
    guard buffer.count - start >= needle.count else { return nil }
    for i in start...(buffer.count - needle.count) {
      var match = true
      for j in 0..<needle.count where buffer[i + j] | 0x20 != needle[j] | 0x20 {
        match = false
        break
      }
      if match { return i }
    }
    return nil
  }

  /// Drops consumed bytes once they dominate the buffer, so that growth stays
  /// linear however many messages pass through.
  private mutating func compact() {
    if start == buffer.count {
      buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
      start = 0
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
