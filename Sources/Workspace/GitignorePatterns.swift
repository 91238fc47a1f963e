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
      // As git: a pattern without a slash is matched against the name alone
      // without WM_PATHNAME, one with a slash against the path with it.
      if Wildmatch.match(pattern.glob[...], subject, pathname: pattern.anchored) { excluded = !pattern.negated }
    }
    return excluded
  }

  public func matches(_ path: String, isDirectory: Bool) -> Bool {
    matches(Array(path.utf8), isDirectory: isDirectory)
  }
}
