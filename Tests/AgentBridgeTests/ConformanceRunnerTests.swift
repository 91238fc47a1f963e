import Foundation
import JSONRPC
import TestSupport
import Testing

/// The replay runner's own parts: a pattern that matched everything, or a
/// fixture that built nothing, would let every transcript pass.
@Suite struct ConformanceRunnerTests {
  func matches(_ actual: String, _ pattern: String) -> Bool {
    ConformancePattern.matches(.json(actual), .json(pattern))
  }

  @Test func plainPatternsCheckOnlyWhatTheyName() {
    #expect(matches(#"{"a": 1, "b": [1, {"c": "x", "d": 2}]}"#, #"{"b": [1.0, {"c": "x"}]}"#))
    #expect(!matches(#"{"a": 1}"#, #"{"a": 2}"#))
    #expect(!matches(#"{"a": 1}"#, #"{"b": 1}"#))
    #expect(!matches(#"[1, 2]"#, #"[1]"#))
    #expect(!matches(#""1""#, #"1"#))
  }

  @Test func typeAndRegexPatterns() {
    #expect(matches(#"{"n": 3}"#, #"{"n": {"$type": "integer"}}"#))
    #expect(!matches(#"{"n": 3.5}"#, #"{"n": {"$type": "integer"}}"#))
    #expect(!matches(#"{"n": "3"}"#, #"{"n": {"$type": "number"}}"#))
    #expect(!matches(#"{}"#, #"{"n": {"$type": "null"}}"#))
    #expect(matches(#""0123456789abcdef0123456789abcdef""#, #"{"$regex": "^[0-9a-f]{32}$"}"#))
    #expect(!matches(#""0123456789ABCDEF0123456789abcdef""#, #"{"$regex": "^[0-9a-f]{32}$"}"#))
    #expect(!matches(#"5"#, #"{"$regex": "5"}"#))
  }

  @Test func exactlyLeavesNoMemberUnchecked() {
    #expect(matches(#"{"hosts": {}}"#, #"{"$exactly": {"hosts": {}}}"#))
    #expect(!matches(#"{"hosts": {"h": 1}}"#, #"{"$exactly": {"hosts": {}}}"#))
    #expect(!matches(#"{"a": 1, "b": 2}"#, #"{"$exactly": {"a": 1}}"#))
    #expect(matches(#"{"a": "x", "b": 2}"#, #"{"$exactly": {"a": {"$type": "string"}, "b": 2}}"#))
    // A plain `{}` takes any object; that is why `$exactly` exists.
    #expect(matches(#"{"h": 1}"#, #"{}"#))
  }

  @Test func zipEntriesReadTheCentralDirectory() {
    // Python's zipfile: a.txt and src/b.txt, stored.
    let zip =
      "UEsDBBQAAAAAAOsYfV1DvrfoAQAAAAEAAAAFAAAAYS50eHRhUEsDBBQAAAAAAOsYfV35775xAQAAAAEAAAAJAAAAc3JjL2IudHh0YlBLAQIUAxQ"
      + "AAAAAAOsYfV1DvrfoAQAAAAEAAAAFAAAAAAAAAAAAAACAAQAAAABhLnR4dFBLAQIUAxQAAAAAAOsYfV35775xAQAAAAEAAAAJAAAAAAAAAAAAAA"
      + "CAASQAAABzcmMvYi50eHRQSwUGAAAAAAIAAgBqAAAATAAAAAAA"
    let archive = JSONValue.string(zip)
    #expect(ConformancePattern.matches(archive, .json(#"{"$zipEntries": ["src/b.txt", "a.txt"]}"#)))
    #expect(!ConformancePattern.matches(archive, .json(#"{"$zipEntries": ["a.txt"]}"#)))
    #expect(!ConformancePattern.matches(archive, .json(#"{"$zipEntries": ["a.txt", "b.txt"]}"#)))
    #expect(!ConformancePattern.matches(.string("aGVsbG8="), .json(#"{"$zipEntries": []}"#)))
  }

  @Test func unknownStepsAreReported() {
    #expect(ConformanceTests.isKnownStep(.json(#"{"comment": "x"}"#)))
    #expect(ConformanceTests.isKnownStep(.json(#"{"in": "sub", "git": [["init"]]}"#)))
    #expect(!ConformanceTests.isKnownStep(.json(#"{"expct": {}}"#)))
  }

  @Test func fixtureStepsBuildTheWorkspace() throws {
    let fixture = try ConformanceFixture()
    defer { fixture.remove() }
    #expect(fixture.substitute("$WORKSPACE/a:$STATE:$TMP") == "\(fixture.root)/workspace/a:\(fixture.root)/state:\(fixture.root)")
    #expect(try fixture.apply(.json(#"{"files": {"d/a.txt": "at $TMP", "b.bin": {"base64": "AAE="}, "r": {"repeat": "ab", "times": 3}}}"#)))
    #expect(try fixture.apply(.json(#"{"symlink": {"link": "d/a.txt"}}"#)))
    #expect(try fixture.apply(.json(#"{"files": {"x": "y"}, "in": "$TMP/other"}"#)))
    #expect(try fixture.apply(.json(#"{"git": [["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]]}"#)))
    #expect(try !fixture.apply(.json(#"{"send": {}}"#)))
    let workspace = fixture.workspace
    #expect(try String(contentsOfFile: workspace + "/d/a.txt", encoding: .utf8) == "at \(fixture.root)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: workspace + "/b.bin")) == Data([0, 1]))
    #expect(try String(contentsOfFile: workspace + "/r", encoding: .utf8) == "ababab")
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: workspace + "/link") == "d/a.txt")
    #expect(FileManager.default.fileExists(atPath: fixture.root + "/other/x"))
    #expect(FileManager.default.fileExists(atPath: workspace + "/.git/HEAD"))
    #expect(throws: ConformanceFixture.Failure.self) { try fixture.apply(.json(#"{"git": [["no-such-command"]]}"#)) }
    #expect(try fixture.apply(.json(#"{"git": [["no-such-command"]], "mayFail": true}"#)))
  }

  @Test func gitCommitsHaveTheSameIdOnEveryRun() throws {
    let runs = try (0..<2).map { _ in try ConformanceFixture() }
    defer { runs.forEach { $0.remove() } }
    let ids = try runs.map {
      _ = try $0.apply(.json(#"{"files": {"a.txt": "a"}}"#))
      _ = try $0.apply(.json(#"{"git": [["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]]}"#))
      return try String(contentsOfFile: $0.workspace + "/.git/refs/heads/main", encoding: .utf8)
    }
    #expect(ids[0] == ids[1])
    #expect(ids[0].count == 41)
  }
}
