/// gitignore-style patterns (as `.gitignore` lines: `*`, `?`, `[...]`, `**`,
/// a leading `/` or an inner `/` anchoring, a trailing `/` for directories
/// only, `!` to re-include; the last matching pattern wins), matched against
/// `/`-separated relative names. zipDirectory's `exclude` uses them.
public struct GitignorePatterns: Sendable {
  struct Pattern: Sendable {
    var glob: [UInt8]
    var negated: Bool
    var directoryOnly: Bool
    /// Matched against the whole relative path; otherwise against the last
    /// component only.
    var anchored: Bool
  }

  let patterns: [Pattern]

  public var isEmpty: Bool { patterns.isEmpty }

  public init(_ lines: [String]) {
    patterns = lines.compactMap(Self.parse)
  }

  static func parse(_ line: String) -> Pattern? {
    var bytes = Array(line.utf8)
    // Trailing spaces are dropped unless escaped; `#` starts a comment.
    while let last = bytes.last, last == 0x20 || last == 0x0A || last == 0x0D {
      if last == 0x20 && bytes.count >= 2 && bytes[bytes.count - 2] == 0x5C { break }
      bytes.removeLast()
    }
    guard !bytes.isEmpty, bytes[0] != 0x23 else { return nil }
    var negated = false
    if bytes[0] == 0x21 {
      negated = true
      bytes.removeFirst()
    } else if bytes.starts(with: [0x5C, 0x21]) || bytes.starts(with: [0x5C, 0x23]) {
      bytes.removeFirst()
    }
    var directoryOnly = false
    if bytes.last == 0x2F {
      directoryOnly = true
      while bytes.last == 0x2F { bytes.removeLast() }
    }
    guard !bytes.isEmpty else { return nil }
    let anchored = bytes.contains(0x2F)
    if bytes.first == 0x2F { bytes.removeFirst() }
    return Pattern(glob: bytes, negated: negated, directoryOnly: directoryOnly, anchored: anchored)
  }

  /// Whether a relative path is excluded (its parents are the caller's
  /// business: a walk does not enter an excluded directory).
  public func matches(_ path: [UInt8], isDirectory: Bool) -> Bool {
    var excluded = false
    let base: ArraySlice<UInt8> = {
      if let slash = path.lastIndex(of: 0x2F) { return path[(slash + 1)...] }
      return path[...]
    }()
    for pattern in patterns {
      if pattern.directoryOnly && !isDirectory { continue }
      let subject = pattern.anchored ? path[...] : base
      if Wildmatch.match(pattern.glob[...], subject) { excluded = !pattern.negated }
    }
    return excluded
  }

  public func matches(_ path: String, isDirectory: Bool) -> Bool {
    matches(Array(path.utf8), isDirectory: isDirectory)
  }
}

/// git's wildmatch with WM_PATHNAME: `*` and `?` stop at `/`, `**` as a
/// whole component crosses directories.
enum Wildmatch {
  static let slash: UInt8 = 0x2F
  static let star: UInt8 = 0x2A

  static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
    var p = pattern.startIndex
    var t = text.startIndex
    while p < pattern.endIndex {
      let c = pattern[p]
      switch c {
      case 0x3F:  // ?
        guard t < text.endIndex, text[t] != slash else { return false }
        p += 1
        t += 1
      case star:
        var q = p
        while q < pattern.endIndex && pattern[q] == star { q += 1 }
        let doubled = q - p >= 2
        let startsComponent = p == pattern.startIndex || pattern[p - 1] == slash
        if doubled && startsComponent {
          if q == pattern.endIndex { return true }  // `**` at the end: everything below
          if pattern[q] == slash {
            // `**/`: zero or more whole directories.
            let rest = pattern[(q + 1)...]
            if match(rest, text[t...]) { return true }
            var i = t
            while i < text.endIndex {
              if text[i] == slash && match(rest, text[(i + 1)...]) { return true }
              i += 1
            }
            return false
          }
        }
        // A single `*` (or a `**` inside a component): any run without `/`.
        let rest = pattern[q...]
        if rest.isEmpty { return !text[t...].contains(slash) }
        var i = t
        while true {
          if match(rest, text[i...]) { return true }
          if i == text.endIndex || text[i] == slash { return false }
          i += 1
        }
      case 0x5B:  // [
        guard t < text.endIndex, text[t] != slash else { return false }
        guard let (matched, next) = matchClass(pattern, from: p, byte: text[t]) else {
          // An unterminated class is a literal `[`.
          guard text[t] == c else { return false }
          p += 1
          t += 1
          continue
        }
        guard matched else { return false }
        p = next
        t += 1
      case 0x5C:  // backslash escapes the next byte
        let literal = p + 1 < pattern.endIndex ? pattern[p + 1] : c
        guard t < text.endIndex, text[t] == literal else { return false }
        p += p + 1 < pattern.endIndex ? 2 : 1
        t += 1
      default:
        guard t < text.endIndex, text[t] == c else { return false }
        p += 1
        t += 1
      }
    }
    return t == text.endIndex
  }

  /// `[...]` at `start`: whether `byte` is in it, and where the pattern goes on.
  static func matchClass(_ pattern: ArraySlice<UInt8>, from start: Int, byte: UInt8) -> (Bool, Int)? {
    var i = start + 1
    var negate = false
    if i < pattern.endIndex && (pattern[i] == 0x21 || pattern[i] == 0x5E) {
      negate = true
      i += 1
    }
    var matched = false
    var first = true
    while i < pattern.endIndex {
      var c = pattern[i]
      if c == 0x5D && !first { return (matched != negate, i + 1) }
      first = false
      if c == 0x5C && i + 1 < pattern.endIndex {
        i += 1
        c = pattern[i]
      }
      if i + 2 < pattern.endIndex && pattern[i + 1] == 0x2D && pattern[i + 2] != 0x5D {
        var high = pattern[i + 2]
        var skip = 3
        if high == 0x5C && i + 3 < pattern.endIndex {
          high = pattern[i + 3]
          skip = 4
        }
        if c <= byte && byte <= high { matched = true }
        i += skip
        continue
      }
      if c == byte { matched = true }
      i += 1
    }
    return nil
  }
}
