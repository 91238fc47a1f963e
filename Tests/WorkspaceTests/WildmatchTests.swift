import Foundation
import Testing

@testable import Workspace

/// git's own wildmatch vectors (t/t3070-wildmatch.sh), and the abort rules
/// that keep matching polynomial.
@Suite struct WildmatchTests {
  /// t3070's rows as `test-tool wildmatch` answers them: the `wildmatch`
  /// column (WM_PATHNAME: how a pattern with a slash is matched against a
  /// path) and the `pathmatch` column (no flags: how a pattern without one
  /// is matched against a name). The two case-insensitive columns are left
  /// out: patterns here are case-sensitive, as git's are without
  /// core.ignoreCase. Where t3070 gives separate `ls-files` answers (its
  /// ten-column rows), the first four, test-tool's, are the ones ported.
  static let t3070: [(glob: Bool, pathmatch: Bool, text: String, pattern: String)] = [
    (true, true, #"foo"#, #"foo"#),
    (false, false, #"foo"#, #"bar"#),
    (true, true, #""#, #""#),
    (true, true, #"foo"#, #"???"#),
    (false, false, #"foo"#, #"??"#),
    (true, true, #"foo"#, #"*"#),
    (true, true, #"foo"#, #"f*"#),
    (false, false, #"foo"#, #"*f"#),
    (true, true, #"foo"#, #"*foo*"#),
    (true, true, #"foobar"#, #"*ob*a*r*"#),
    (true, true, #"aaaaaaabababab"#, #"*ab"#),
    (true, true, #"foo*"#, #"foo\*"#),
    (false, false, #"foobar"#, #"foo\*bar"#),
    (true, true, #"f\oo"#, #"f\\oo"#),
    (true, true, #"ball"#, #"*[al]?"#),
    (false, false, #"ten"#, #"[ten]"#),
    (true, true, #"ten"#, #"**[!te]"#),
    (false, false, #"ten"#, #"**[!ten]"#),
    (true, true, #"ten"#, #"t[a-g]n"#),
    (false, false, #"ten"#, #"t[!a-g]n"#),
    (true, true, #"ton"#, #"t[!a-g]n"#),
    (true, true, #"ton"#, #"t[^a-g]n"#),
    (true, true, #"a]b"#, #"a[]]b"#),
    (true, true, #"a-b"#, #"a[]-]b"#),
    (true, true, #"a]b"#, #"a[]-]b"#),
    (false, false, #"aab"#, #"a[]-]b"#),
    (true, true, #"aab"#, #"a[]a-]b"#),
    (true, true, #"]"#, #"]"#),
    (false, true, #"foo/baz/bar"#, #"foo*bar"#),
    (false, true, #"foo/baz/bar"#, #"foo**bar"#),
    (true, true, #"foobazbar"#, #"foo**bar"#),
    (true, true, #"foo/baz/bar"#, #"foo/**/bar"#),
    (true, false, #"foo/baz/bar"#, #"foo/**/**/bar"#),
    (true, true, #"foo/b/a/z/bar"#, #"foo/**/bar"#),
    (true, true, #"foo/b/a/z/bar"#, #"foo/**/**/bar"#),
    (true, false, #"foo/bar"#, #"foo/**/bar"#),
    (true, false, #"foo/bar"#, #"foo/**/**/bar"#),
    (false, true, #"foo/bar"#, #"foo?bar"#),
    (false, true, #"foo/bar"#, #"foo[/]bar"#),
    (false, true, #"foo/bar"#, #"foo[^a-z]bar"#),
    (false, true, #"foo/bar"#, #"f[^eiu][^eiu][^eiu][^eiu][^eiu]r"#),
    (true, true, #"foo-bar"#, #"f[^eiu][^eiu][^eiu][^eiu][^eiu]r"#),
    (true, false, #"foo"#, #"**/foo"#),
    (true, true, #"XXX/foo"#, #"**/foo"#),
    (true, true, #"bar/baz/foo"#, #"**/foo"#),
    (false, true, #"bar/baz/foo"#, #"*/foo"#),
    (false, true, #"foo/bar/baz"#, #"**/bar*"#),
    (true, true, #"deep/foo/bar/baz"#, #"**/bar/*"#),
    (false, true, #"deep/foo/bar/baz/"#, #"**/bar/*"#),
    (true, true, #"deep/foo/bar/baz/"#, #"**/bar/**"#),
    (false, false, #"deep/foo/bar"#, #"**/bar/*"#),
    (true, true, #"deep/foo/bar/"#, #"**/bar/**"#),
    (false, true, #"foo/bar/baz"#, #"**/bar**"#),
    (true, true, #"foo/bar/baz/x"#, #"*/bar/**"#),
    (false, true, #"deep/foo/bar/baz/x"#, #"*/bar/**"#),
    (true, true, #"deep/foo/bar/baz/x"#, #"**/bar/*/*"#),
    (false, false, #"acrt"#, #"a[c-c]st"#),
    (true, true, #"acrt"#, #"a[c-c]rt"#),
    (false, false, #"]"#, #"[!]-]"#),
    (true, true, #"a"#, #"[!]-]"#),
    (false, false, #""#, #"\"#),
    (false, false, #"\"#, #"\"#),
    (false, false, #"XXX/\"#, #"*/\"#),
    (true, true, #"XXX/\"#, #"*/\\"#),
    (true, true, #"foo"#, #"foo"#),
    (true, true, #"@foo"#, #"@foo"#),
    (false, false, #"foo"#, #"@foo"#),
    (true, true, #"[ab]"#, #"\[ab]"#),
    (true, true, #"[ab]"#, #"[[]ab]"#),
    (true, true, #"[ab]"#, #"[[:]ab]"#),
    (false, false, #"[ab]"#, #"[[::]ab]"#),
    (true, true, #"[ab]"#, #"[[:digit]ab]"#),
    (true, true, #"[ab]"#, #"[\[:]ab]"#),
    (true, true, #"?a?b"#, #"\??\?b"#),
    (true, true, #"abc"#, #"\a\b\c"#),
    (false, false, #"foo"#, #""#),
    (true, true, #"foo/bar/baz/to"#, #"**/t[o]"#),
    (true, true, #"a1B"#, #"[[:alpha:]][[:digit:]][[:upper:]]"#),
    (false, false, #"a"#, #"[[:digit:][:upper:][:space:]]"#),
    (true, true, #"A"#, #"[[:digit:][:upper:][:space:]]"#),
    (true, true, #"1"#, #"[[:digit:][:upper:][:space:]]"#),
    (false, false, #"1"#, #"[[:digit:][:upper:][:spaci:]]"#),
    (true, true, #" "#, #"[[:digit:][:upper:][:space:]]"#),
    (false, false, #"."#, #"[[:digit:][:upper:][:space:]]"#),
    (true, true, #"."#, #"[[:digit:][:punct:][:space:]]"#),
    (true, true, #"5"#, #"[[:xdigit:]]"#),
    (true, true, #"f"#, #"[[:xdigit:]]"#),
    (true, true, #"D"#, #"[[:xdigit:]]"#),
    (true, true, #"_"#, #"[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]"#),
    (true, true, #"."#, #"[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:][:space:][:upper:][:xdigit:]]"#),
    (true, true, #"5"#, #"[a-c[:digit:]x-z]"#),
    (true, true, #"b"#, #"[a-c[:digit:]x-z]"#),
    (true, true, #"y"#, #"[a-c[:digit:]x-z]"#),
    (false, false, #"q"#, #"[a-c[:digit:]x-z]"#),
    (true, true, #"]"#, #"[\\-^]"#),
    (false, false, #"["#, #"[\\-^]"#),
    (true, true, #"-"#, #"[\-_]"#),
    (true, true, #"]"#, #"[\]]"#),
    (false, false, #"\]"#, #"[\]]"#),
    (false, false, #"\"#, #"[\]]"#),
    (false, false, #"ab"#, #"a[]b"#),
    (false, false, #"a[]b"#, #"a[]b"#),
    (false, false, #"ab["#, #"ab["#),
    (false, false, #"ab"#, #"[!"#),
    (false, false, #"ab"#, #"[-"#),
    (true, true, #"-"#, #"[-]"#),
    (false, false, #"-"#, #"[a-"#),
    (false, false, #"-"#, #"[!a-"#),
    (true, true, #"-"#, #"[--A]"#),
    (true, true, #"5"#, #"[--A]"#),
    (true, true, #" "#, #"[ --]"#),
    (true, true, #"$"#, #"[ --]"#),
    (true, true, #"-"#, #"[ --]"#),
    (false, false, #"0"#, #"[ --]"#),
    (true, true, #"-"#, #"[---]"#),
    (true, true, #"-"#, #"[------]"#),
    (false, false, #"j"#, #"[a-e-n]"#),
    (true, true, #"-"#, #"[a-e-n]"#),
    (true, true, #"a"#, #"[!------]"#),
    (false, false, #"["#, #"[]-a]"#),
    (true, true, #"^"#, #"[]-a]"#),
    (false, false, #"^"#, #"[!]-a]"#),
    (true, true, #"["#, #"[!]-a]"#),
    (true, true, #"^"#, #"[a^bc]"#),
    (true, true, #"-b]"#, #"[a-]b]"#),
    (false, false, #"\"#, #"[\]"#),
    (true, true, #"\"#, #"[\\]"#),
    (false, false, #"\"#, #"[!\\]"#),
    (true, true, #"G"#, #"[A-\\]"#),
    (false, false, #"aaabbb"#, #"b*a"#),
    (false, false, #"aabcaa"#, #"*ba*"#),
    (true, true, #","#, #"[,]"#),
    (true, true, #","#, #"[\\,]"#),
    (true, true, #"\"#, #"[\\,]"#),
    (true, true, #"-"#, #"[,-.]"#),
    (false, false, #"+"#, #"[,-.]"#),
    (false, false, #"-.]"#, #"[,-.]"#),
    (true, true, #"2"#, #"[\1-\3]"#),
    (true, true, #"3"#, #"[\1-\3]"#),
    (false, false, #"4"#, #"[\1-\3]"#),
    (true, true, #"\"#, #"[[-\]]"#),
    (true, true, #"["#, #"[[-\]]"#),
    (true, true, #"]"#, #"[[-\]]"#),
    (false, false, #"-"#, #"[[-\]]"#),
    (true, true, #"-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1"#, #"-*-*-*-*-*-*-12-*-*-*-m-*-*-*"#),
    (false, false, #"-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1"#, #"-*-*-*-*-*-*-12-*-*-*-m-*-*-*"#),
    (false, false, #"-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1"#, #"-*-*-*-*-*-*-12-*-*-*-m-*-*-*"#),
    (true, true, #"XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1"#, #"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*"#),
    (false, false, #"XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1"#, #"XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*"#),
    (true, true, #"abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt"#, #"**/*a*b*g*n*t"#),
    (false, false, #"abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz"#, #"**/*a*b*g*n*t"#),
    (false, false, #"foo"#, #"*/*/*"#),
    (false, false, #"foo/bar"#, #"*/*/*"#),
    (true, true, #"foo/bba/arr"#, #"*/*/*"#),
    (false, true, #"foo/bb/aa/rr"#, #"*/*/*"#),
    (true, true, #"foo/bb/aa/rr"#, #"**/**/**"#),
    (true, true, #"abcXdefXghi"#, #"*X*i"#),
    (false, true, #"ab/cXd/efXg/hi"#, #"*X*i"#),
    (true, true, #"ab/cXd/efXg/hi"#, #"*/*X*/*/*i"#),
    (true, true, #"ab/cXd/efXg/hi"#, #"**/*X*/**/*i"#),
    (false, false, #"foo"#, #"fo"#),
    (true, true, #"foo/bar"#, #"foo/bar"#),
    (true, true, #"foo/bar"#, #"foo/*"#),
    (false, true, #"foo/bba/arr"#, #"foo/*"#),
    (true, true, #"foo/bba/arr"#, #"foo/**"#),
    (false, true, #"foo/bba/arr"#, #"foo*"#),
    (false, true, #"foo/bba/arr"#, #"foo**"#),
    (false, true, #"foo/bba/arr"#, #"foo/*arr"#),
    (false, true, #"foo/bba/arr"#, #"foo/**arr"#),
    (false, false, #"foo/bba/arr"#, #"foo/*z"#),
    (false, false, #"foo/bba/arr"#, #"foo/**z"#),
    (false, true, #"foo/bar"#, #"foo?bar"#),
    (false, true, #"foo/bar"#, #"foo[/]bar"#),
    (false, true, #"foo/bar"#, #"foo[^a-z]bar"#),
    (false, true, #"ab/cXd/efXg/hi"#, #"*Xg*i"#),
    (false, false, #"a"#, #"[A-Z]"#),
    (true, true, #"A"#, #"[A-Z]"#),
    (false, false, #"A"#, #"[a-z]"#),
    (true, true, #"a"#, #"[a-z]"#),
    (false, false, #"a"#, #"[[:upper:]]"#),
    (true, true, #"A"#, #"[[:upper:]]"#),
    (false, false, #"A"#, #"[[:lower:]]"#),
    (true, true, #"a"#, #"[[:lower:]]"#),
    (false, false, #"A"#, #"[B-Za]"#),
    (true, true, #"a"#, #"[B-Za]"#),
    (false, false, #"A"#, #"[B-a]"#),
    (true, true, #"a"#, #"[B-a]"#),
    (false, false, #"z"#, #"[Z-y]"#),
    (true, true, #"Z"#, #"[Z-y]"#),
  ]

  /// test-tool turns a leading `XXX/` into `/` (a leading `/` is awkward
  /// to pass on Windows).
  static func argument(_ value: String) -> [UInt8] {
    value.hasPrefix("XXX/") ? Array(value.utf8.dropFirst(3)) : Array(value.utf8)
  }

  @Test func gitVectors() {
    #expect(Self.t3070.count == 189)
    for row in Self.t3070 {
      let text = Self.argument(row.text)[...]
      let pattern = Self.argument(row.pattern)[...]
      #expect(
        Wildmatch.match(pattern, text, pathname: true) == row.glob, "wildmatch '\(row.text)' '\(row.pattern)'")
      #expect(
        Wildmatch.match(pattern, text, pathname: false) == row.pathmatch,
        "pathmatch '\(row.text)' '\(row.pattern)'")
      #expect(
        Backtracking.match(pattern, text, pathname: true) == row.glob, "reference '\(row.text)' '\(row.pattern)'")
    }
  }

  /// The abort rules only cut work: on every small pattern and name over a
  /// few symbols the answer is plain backtracking's.
  @Test func abortRulesKeepAnswers() {
    var random = SplitMix(seed: 0x3070)
    let patternSymbols: [[UInt8]] = ["a", "b", "/", "*", "**", "?", "[ab]", "[!a]", "\\*", "**/", "/**"].map {
      Array($0.utf8)
    }
    let textSymbols: [UInt8] = Array("ab/*".utf8)
    for _ in 0..<60_000 {
      var pattern: [UInt8] = []
      for _ in 0..<random.next(below: 7) { pattern += patternSymbols[random.next(below: patternSymbols.count)] }
      var text: [UInt8] = []
      for _ in 0..<random.next(below: 8) { text.append(textSymbols[random.next(below: textSymbols.count)]) }
      for pathname in [true, false] {
        let expected = Backtracking.match(pattern[...], text[...], pathname: pathname)
        let got = Wildmatch.match(pattern[...], text[...], pathname: pathname)
        #expect(
          got == expected,
          "'\(String(decoding: text, as: UTF8.self))' '\(String(decoding: pattern, as: UTF8.self))' pathname \(pathname)")
        if got != expected { return }
      }
    }
  }

  /// Patterns that take exponential time by backtracking (and, the last
  /// two, in git's and libgit2's own wildmatch) answer at once. Each runs
  /// on its own thread so that a regression fails here instead of hanging.
  @Test func pathologicalPatternsFinish() async throws {
    let star14 = String(repeating: "*a", count: 14) + "*b"
    let cases: [(pattern: String, text: String, pathname: Bool)] = [
      (star14, String(repeating: "a", count: 69), false),
      (star14, String(repeating: "a", count: 69), true),
      (star14, String(repeating: "a", count: 4000) + "X", true),
      (star14, String(repeating: "a", count: 4000) + "X", false),
      (String(repeating: "**/", count: 30) + "b", String(repeating: "a/", count: 300), true),
      (String(repeating: "*?", count: 30) + "b", String(repeating: "a", count: 2000), true),
      (String(repeating: "**/*a", count: 20) + "b", String(repeating: "a/", count: 200) + "X", true),
      // Far more stars than any recursion could stack.
      (String(repeating: "*a", count: 200_000), String(repeating: "a", count: 100), true),
    ]
    for item in cases {
      let finished = await Self.finishes(within: .seconds(5)) {
        _ = Wildmatch.match(Array(item.pattern.utf8)[...], Array(item.text.utf8)[...], pathname: item.pathname)
      }
      #expect(finished, "\(item.pattern.prefix(40))… on \(item.text.count) bytes, pathname \(item.pathname)")
    }
    // And through the exclude list zipDirectory uses.
    let finished = await Self.finishes(within: .seconds(5)) {
      _ = GitignorePatterns([star14]).matches(String(repeating: "a", count: 69), isDirectory: false)
    }
    #expect(finished)
  }

  /// Runs `body` on a thread of its own; false when it has not returned in
  /// time (the thread is then left to run).
  static func finishes(within limit: Duration, _ body: @escaping @Sendable () -> Void) async -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      body()
      done.signal()
    }
    let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
    return await withCheckedContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(returning: done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success)
      }
    }
  }
}

/// git's wildmatch semantics by plain backtracking, without abort rules or
/// fast paths: the reference the abort rules must agree with (exponential,
/// small inputs only).
enum Backtracking {
  static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>, pathname: Bool) -> Bool {
    let whole = pattern.startIndex
    func rec(_ p: Int, _ t: Int) -> Bool {
      guard p < pattern.endIndex else { return t == text.endIndex }
      let c = pattern[p]
      if c == 0x2A {
        var q = p + 1
        var crosses = !pathname
        if q < pattern.endIndex && pattern[q] == 0x2A {
          while q < pattern.endIndex && pattern[q] == 0x2A { q += 1 }
          let starts = p == whole || pattern[p - 1] == 0x2F
          let ends =
            q == pattern.endIndex || pattern[q] == 0x2F
            || (pattern[q] == 0x5C && q + 1 < pattern.endIndex && pattern[q + 1] == 0x2F)
          if !pathname || (starts && ends) {
            crosses = true
            if pathname && q < pattern.endIndex && pattern[q] == 0x2F && rec(q + 1, t) { return true }
          }
        }
        if q == pattern.endIndex { return crosses || !text[t...].contains(0x2F) }
        var x = t
        while x < text.endIndex {
          if rec(q, x) { return true }
          if !crosses && text[x] == 0x2F { return false }
          x += 1
        }
        return false
      }
      guard t < text.endIndex else { return false }
      switch c {
      case 0x5C:
        return p + 1 < pattern.endIndex && pattern[p + 1] == text[t] && rec(p + 2, t + 1)
      case 0x3F:
        return !(pathname && text[t] == 0x2F) && rec(p + 1, t + 1)
      case 0x5B:
        guard case .matched(let next) = Wildmatch.matchClass(pattern, at: p, byte: text[t]),
          !(pathname && text[t] == 0x2F)
        else { return false }
        return rec(next, t + 1)
      default:
        return c == text[t] && rec(p + 1, t + 1)
      }
    }
    // A malformed class fails the whole match in git; no branch gets past
    // one here either, so plain backtracking answers the same.
    return rec(pattern.startIndex, text.startIndex)
  }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next(below bound: Int) -> Int {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Int((z ^ (z >> 31)) % UInt64(bound))
  }
}
