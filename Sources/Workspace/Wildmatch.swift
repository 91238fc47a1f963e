/// git's wildmatch: `*`, `?`, `[...]` (ranges, `!`/`^`, `[:class:]`), `\`
/// escapes and, with `pathname` (git's WM_PATHNAME), `*`/`?`/classes that
/// stop at `/` and `**` as a whole component that crosses it.
///
/// Time is polynomial in the input (about |text|² · |pattern| at worst)
/// through git's abort rules: once a star has tried every position up to
/// the end of the text, no earlier star can do better (every earlier choice
/// only moves it later), so the whole match fails (WM_ABORT_ALL); a star
/// that cannot pass `/` and failed up to one fails back to the innermost
/// `**` (WM_ABORT_TO_STARSTAR). git's own literal fast path answers a plain
/// no-match in those two places, which makes `*a*a*a…*b` against `aaa…aX`
/// exponential in git too; here the fast path answers what the step-by-step
/// loop would, so the rules always apply.
///
/// Because of those rules a star never has to be retried once a later star
/// was reached (except a `**` after an abort to it), so the match keeps at
/// most two resumable stars instead of a recursion as deep as the pattern.
enum Wildmatch {
  static let slash: UInt8 = 0x2F
  static let star: UInt8 = 0x2A
  static let backslash: UInt8 = 0x5C

  static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>, pathname: Bool = true) -> Bool {
    var matcher = Matcher(pattern: pattern, text: text, pathname: pathname)
    return matcher.run()
  }

  /// A star being tried: the pattern after it, and where in the text the
  /// rest is tried next.
  struct Star {
    var rest: Int
    var next: Int
    var crossesSlash: Bool
    /// `**/` tries the rest after the `/` at the star's own position first
    /// (zero directories).
    var zeroDirectoriesPending: Bool
    /// A star that stops at `/` has tried the `/` itself: nothing is left.
    var exhausted = false
  }

  enum Outcome {
    case next(pattern: Int, text: Int)
    case abortAll
    case abortToStarStar
  }

  struct Matcher {
    let pattern: ArraySlice<UInt8>
    let text: ArraySlice<UInt8>
    let pathname: Bool
    /// The innermost star when it stops at `/`.
    var single: Star?
    /// The innermost star that crosses `/`.
    var crossing: Star?

    init(pattern: ArraySlice<UInt8>, text: ArraySlice<UInt8>, pathname: Bool) {
      self.pattern = pattern
      self.text = text
      self.pathname = pathname
    }

    mutating func run() -> Bool {
      var p = pattern.startIndex
      var t = text.startIndex
      while true {
        switch step(&p, &t) {
        case .matched: return true
        case .aborted: return false
        case .advanced: continue
        case .failed:
          // The innermost star tries its next position.
          guard let (nextP, nextT) = resume() else { return false }
          p = nextP
          t = nextT
        }
      }
    }

    enum Step { case advanced, failed, matched, aborted }

    /// Matches one pattern element at (p, t).
    mutating func step(_ p: inout Int, _ t: inout Int) -> Step {
      guard p < pattern.endIndex else { return t == text.endIndex ? .matched : .failed }
      let c = pattern[p]
      // The text ran out before the pattern: no later start can help.
      guard t < text.endIndex || c == star else { return .aborted }
      switch c {
      case backslash:
        guard p + 1 < pattern.endIndex, text[t] == pattern[p + 1] else { return .failed }
        p += 2
        t += 1
      case 0x3F:  // ?
        if pathname && text[t] == slash { return .failed }
        p += 1
        t += 1
      case 0x5B:  // [
        switch Wildmatch.matchClass(pattern, at: p, byte: text[t]) {
        case .malformed: return .aborted
        case .unmatched: return .failed
        case .matched(let next):
          if pathname && text[t] == slash { return .failed }
          p = next
          t += 1
        }
      case star:
        return starts(&p, &t)
      default:
        guard text[t] == c else { return .failed }
        p += 1
        t += 1
      }
      return .advanced
    }

    /// A run of stars at p.
    mutating func starts(_ p: inout Int, _ t: inout Int) -> Step {
      var q = p + 1
      var crosses = !pathname
      var zeroDirectories = false
      if q < pattern.endIndex && pattern[q] == star {
        let startsComponent = p == pattern.startIndex || pattern[p - 1] == slash
        while q < pattern.endIndex && pattern[q] == star { q += 1 }
        let endsComponent =
          q == pattern.endIndex || pattern[q] == slash
          || (pattern[q] == backslash && q + 1 < pattern.endIndex && pattern[q + 1] == slash)
        if !pathname || (startsComponent && endsComponent) {
          crosses = true
          zeroDirectories = pathname && q < pattern.endIndex && pattern[q] == slash
        }
      }
      if q == pattern.endIndex {
        // Trailing: `**` takes everything, `*` the rest of a last component.
        if !crosses && text[t...].contains(slash) { return .failed }
        return .matched
      }
      if !crosses && pattern[q] == slash {
        // `*/`: exactly the rest of this component.
        guard let next = text[t...].firstIndex(of: slash) else { return .failed }
        p = q
        t = next
        return .advanced
      }
      let new = Star(rest: q, next: t, crossesSlash: crosses, zeroDirectoriesPending: zeroDirectories)
      if crosses {
        // It answers only match or abort-all: nothing before it is retried.
        crossing = new
        single = nil
      } else {
        single = new
      }
      guard let (nextP, nextT) = resume() else { return .aborted }
      p = nextP
      t = nextT
      return .advanced
    }

    /// Where the innermost star tries next, or nil when the match failed.
    mutating func resume() -> (Int, Int)? {
      while true {
        if var star = single {
          let outcome = advance(&star)
          single = star
          switch outcome {
          case .next(let p, let t): return (p, t)
          case .abortAll: return nil
          case .abortToStarStar: single = nil
          }
        } else if var star = crossing {
          let outcome = advance(&star)
          crossing = star
          guard case .next(let p, let t) = outcome else { return nil }
          return (p, t)
        } else {
          return nil
        }
      }
    }

    func advance(_ star: inout Star) -> Outcome {
      if star.zeroDirectoriesPending {
        star.zeroDirectoriesPending = false
        return .next(pattern: star.rest + 1, text: star.next)
      }
      if star.exhausted { return .abortToStarStar }
      var x = star.next
      guard x < text.endIndex else { return .abortAll }
      let literal = pattern[star.rest]
      if !Self.isSpecial(literal) {
        // What the star takes before the literal is all its own.
        while x < text.endIndex && text[x] != literal && (star.crossesSlash || text[x] != slash) { x += 1 }
        guard x < text.endIndex else { return .abortAll }
        if text[x] != literal { return .abortToStarStar }
      }
      star.next = x + 1
      if !star.crossesSlash && text[x] == slash { star.exhausted = true }
      return .next(pattern: star.rest, text: x)
    }

    static func isSpecial(_ byte: UInt8) -> Bool {
      byte == Wildmatch.star || byte == 0x3F || byte == 0x5B || byte == Wildmatch.backslash
    }
  }

  enum ClassMatch: Equatable {
    case matched(next: Int)
    case unmatched
    /// Unterminated, or an unknown `[:name:]`: git fails the whole match.
    case malformed
  }

  /// The `[...]` at `start` against one byte. A `]` first in the class is
  /// literal; `a-z` is a range unless `-` is first or last; `\` escapes.
  static func matchClass(_ pattern: ArraySlice<UInt8>, at start: Int, byte: UInt8) -> ClassMatch {
    let end = pattern.endIndex
    var i = start + 1
    guard i < end else { return .malformed }
    let negated = pattern[i] == 0x21 || pattern[i] == 0x5E
    if negated { i += 1 }
    var previous: UInt8 = 0  // 0: no range may start here
    var matched = false
    repeat {
      guard i < end else { return .malformed }
      var c = pattern[i]
      if c == backslash {
        i += 1
        guard i < end else { return .malformed }
        c = pattern[i]
        if byte == c { matched = true }
      } else if c == 0x2D && previous != 0 && i + 1 < end && pattern[i + 1] != 0x5D {
        i += 1
        var high = pattern[i]
        if high == backslash {
          i += 1
          guard i < end else { return .malformed }
          high = pattern[i]
        }
        if previous <= byte && byte <= high { matched = true }
        c = 0
      } else if c == 0x5B && i + 1 < end && pattern[i + 1] == 0x3A {
        let nameStart = i + 2
        var j = nameStart
        while j < end && pattern[j] != 0x5D { j += 1 }
        guard j < end else { return .malformed }
        if j - nameStart < 1 || pattern[j - 1] != 0x3A {
          // No `:]`: the `[` is an ordinary member.
          if byte == c { matched = true }
        } else {
          guard let test = characterClass(pattern[nameStart..<(j - 1)]) else { return .malformed }
          if test(byte) { matched = true }
          c = 0
          i = j
        }
      } else if byte == c {
        matched = true
      }
      previous = c
      i += 1
    } while i >= end || pattern[i] != 0x5D
    return matched != negated ? .matched(next: i + 1) : .unmatched
  }

  /// The C locale's classes, as git tests them.
  static func characterClass(_ name: ArraySlice<UInt8>) -> ((UInt8) -> Bool)? {
    func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
    func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    func isGraph(_ c: UInt8) -> Bool { c > 0x20 && c < 0x7F }
    switch String(decoding: name, as: UTF8.self) {
    case "alnum": return { isUpper($0) || isLower($0) || isDigit($0) }
    case "alpha": return { isUpper($0) || isLower($0) }
    case "blank": return { $0 == 0x20 || $0 == 0x09 }
    case "cntrl": return { $0 < 0x20 || $0 == 0x7F }
    case "digit": return isDigit
    case "graph": return isGraph
    case "lower": return isLower
    case "print": return { isGraph($0) || $0 == 0x20 }
    case "punct": return { isGraph($0) && !(isUpper($0) || isLower($0) || isDigit($0)) }
    case "space": return { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
    case "upper": return isUpper
    case "xdigit": return { isDigit($0) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }
    default: return nil
    }
  }
}
