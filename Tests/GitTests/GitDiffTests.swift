import Foundation
import Testing
import Workspace

@testable import Git

@Suite struct GitDiffTests {
  func expectError(_ expected: GitDiffError, _ body: () throws -> GitFileDiff) {
    #expect {
      _ = try body()
    } throws: { error in
      (error as? GitDiffError) == expected
    }
  }

  @Test func modifiedAddedDeletedAndUntracked() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("mod.txt", "line1\nline2\n")
    try fixture.write("del.txt", "gone\n")
    try fixture.commitAll()
    try fixture.write("mod.txt", "line1\nline2\nchange\n")
    try fixture.remove("del.txt")
    try fixture.write("staged.txt", "staged\n")
    try fixture.git("add", "staged.txt")
    try fixture.write("untracked.txt", "untracked\n")
    #expect(try fixture.diff("mod.txt") == GitFileDiff(original: "line1\nline2", modified: "line1\nline2\nchange"))
    #expect(try fixture.diff("del.txt") == GitFileDiff(original: "gone", modified: ""))
    #expect(try fixture.diff("staged.txt") == GitFileDiff(original: "", modified: "staged"))
    #expect(try fixture.diff("untracked.txt") == GitFileDiff(original: "", modified: "untracked"))
    #expect(try fixture.diff("./mod.txt") == (try fixture.diff("mod.txt")))
  }

  @Test func lineEndingsAreNormalisedAndOneTrailingNewlineDropped() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("crlf.txt", "\n  indented first\r\nsecond\r\n")
    try fixture.write("blank.txt", "a\n\n")
    try fixture.write("cr.txt", "a\rb\r")
    try fixture.commitAll()
    try fixture.write("crlf.txt", "\n  indented first\nsecond\nthird\n")
    // Leading whitespace survives (OpenHands stripped it from one side only).
    #expect(
      try fixture.diff("crlf.txt")
        == GitFileDiff(original: "\n  indented first\nsecond", modified: "\n  indented first\nsecond\nthird"))
    #expect(try fixture.diff("blank.txt") == GitFileDiff(original: "a\n", modified: "a\n"))
    #expect(try fixture.diff("cr.txt") == GitFileDiff(original: "a\nb", modified: "a\nb"))
  }

  @Test func errors() throws {
    let fixture = try GitFixture()
    try fixture.write("outside-any-repo.txt", "x\n")
    expectError(.notRepository) { try fixture.diff("outside-any-repo.txt") }

    try fixture.initRepository()
    try fixture.write("big.txt", String(repeating: "x", count: GitDiff.maxBytes) + "\n")
    try fixture.write("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9, 0x0A]))
    try fixture.write("fine.txt", String(repeating: "y", count: GitDiff.maxBytes))
    try fixture.commitAll()
    try fixture.write("latin1-new.txt", Data([0xFF, 0xFE, 0x00]))
    expectError(.tooLarge(GitDiff.maxBytes + 1)) { try fixture.diff("big.txt") }
    expectError(.notUTF8) { try fixture.diff("latin1.txt") }
    expectError(.notUTF8) { try fixture.diff("latin1-new.txt") }
    expectError(.notFound) { try fixture.diff("missing.txt") }
    try fixture.write("dir/file", "f\n")
    expectError(.isDirectory) { try fixture.diff("dir") }
    expectError(.unknownRef("nope")) { try fixture.diff("fine.txt", ref: "nope") }
    // Exactly the limit is fine.
    #expect(try fixture.diff("fine.txt").modified.utf8.count == GitDiff.maxBytes)
    // The base side is held to the limit too.
    try fixture.remove("big.txt")
    expectError(.tooLarge(GitDiff.maxBytes + 1)) { try fixture.diff("big.txt") }
  }

  @Test func nestedRepositoryFilesUseTheirOwnRepository() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("root.txt", "root\n")
    try fixture.commitAll()
    try fixture.initRepository("app")
    try fixture.write("app/src/main.swift", "v1\n")
    try fixture.commitAll(in: "app")
    try fixture.write("app/src/main.swift", "v2\n")
    try fixture.initRepository("deep/inner")
    try fixture.write("deep/inner/x.txt", "x1\n")
    try fixture.commitAll(in: "deep/inner")
    try fixture.write("deep/inner/x.txt", "x2\n")
    #expect(try fixture.diff("app/src/main.swift") == GitFileDiff(original: "v1", modified: "v2"))
    #expect(try fixture.diff("deep/inner/x.txt") == GitFileDiff(original: "x1", modified: "x2"))
    // `ref` belongs to the workspace repository, not the nested one.
    #expect(try fixture.diff("app/src/main.swift", ref: "HEAD") == GitFileDiff(original: "v1", modified: "v2"))
  }

  /// U+0600 joins the `/` after it into one grapheme: the nested
  /// repository is still found by the `/` byte.
  @Test func nestedRepositoryWhoseNameEndsInAJoiningCharacter() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("root.txt", "root\n")
    try fixture.commitAll()
    try fixture.initRepository("n\u{600}")
    try fixture.write("n\u{600}/f.txt", "v1\n")
    try fixture.commitAll(in: "n\u{600}")
    try fixture.write("n\u{600}/f.txt", "v2\n")
    #expect(try fixture.diff("n\u{600}/f.txt") == GitFileDiff(original: "v1", modified: "v2"))
    try fixture.write("...", "dots\n")
    #expect(try fixture.diff("...") == GitFileDiff(original: "", modified: "dots"))
  }

  @Test func submoduleLikeGitFileAndWorkspaceWithoutRepository() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("ws/main-repo")
    try fixture.write("ws/main-repo/f.txt", "f\n")
    try fixture.commitAll(in: "ws/main-repo")
    try fixture.git("worktree", "add", "-q", "-b", "wt", "../checkout", in: "ws/main-repo")
    try fixture.write("ws/checkout/f.txt", "g\n")
    #expect(
      try GitFixture.diff(workspace: fixture.path("ws"), path: "checkout/f.txt")
        == GitFileDiff(original: "f", modified: "g"))
  }

  /// The same worktree made from a repository outside the workspace is not
  /// opened: the workspace has no repository of its own, so no diff.
  @Test func worktreeOfAnOutsideRepositoryIsNotOpened() throws {
    let fixture = try GitFixture()
    try fixture.initRepository("main-repo")
    try fixture.write("main-repo/f.txt", "outside base\n")
    try fixture.commitAll(in: "main-repo")
    try fixture.git("worktree", "add", "-q", "-b", "wt", "../ws/checkout", in: "main-repo")
    try fixture.write("ws/checkout/f.txt", "g\n")
    #expect(throws: GitDiffError.notRepository) {
      try GitFixture.diff(workspace: fixture.path("ws"), path: "checkout/f.txt")
    }
  }

  @Test func symlinksAreDiffedAsTheirTargetText() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("target.txt", "t\n")
    try fixture.symlink("link", to: "target.txt")
    try fixture.commitAll()
    try fixture.remove("link")
    try fixture.symlink("link", to: "elsewhere.txt")
    #expect(try fixture.diff("link") == GitFileDiff(original: "target.txt", modified: "elsewhere.txt"))
    // A link that leads out is refused, as everywhere (its text is no
    // secret, but the contract's answer for a path that leaves is -32014).
    try fixture.remove("link")
    try fixture.symlink("link", to: "/etc/passwd")
    #expect(throws: PathError.outsideWorkspace) { try fixture.diff("link") }
  }

  @Test func awkwardNamesAndAutocrlf() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.git("config", "core.autocrlf", "true")
    let name = "we\"ird\tna me\né.txt"
    try fixture.write(name, "one\r\ntwo\r\n")
    try fixture.commitAll()
    try fixture.write(name, "one\r\ntwo\r\nthree\r\n")
    #expect(try fixture.diff(name) == GitFileDiff(original: "one\ntwo", modified: "one\ntwo\nthree"))
  }

  @Test func unbornDetachedAndRefs() throws {
    let fixture = try GitFixture()
    try fixture.initRepository()
    try fixture.write("a.txt", "first\n")
    #expect(try fixture.diff("a.txt") == GitFileDiff(original: "", modified: "first"))
    #expect(try fixture.diff("a.txt", ref: "HEAD") == GitFileDiff(original: "", modified: "first"))
    try fixture.commitAll()
    try fixture.write("a.txt", "second\n")
    try fixture.commitAll()
    try fixture.git("checkout", "-q", "--detach", "HEAD")
    try fixture.write("a.txt", "third\n")
    #expect(try fixture.diff("a.txt") == GitFileDiff(original: "second", modified: "third"))
    #expect(try fixture.diff("a.txt", ref: "HEAD~1") == GitFileDiff(original: "first", modified: "third"))
  }
}
