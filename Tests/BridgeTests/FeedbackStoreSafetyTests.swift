#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeProtocol
import Foundation
import JSONRPC
import Testing
import TestSupport

@testable import Bridge

/// CONTRACT section 8, promise 5, for the feedback store: it never follows
/// a symlink, refuses a state directory others may write, and never uses a
/// relative directory. Real directories and files.
@Suite struct FeedbackStoreSafetyTests {
  static let params = SubmitFeedbackRequest.Params(polarity: "positive")
  static func record(_ id: String) -> JSONValue {
    FeedbackStore.record(params, id: id, password: "p", conversationId: "c")
  }

  static func message(_ body: () async throws(ResponseError) -> Void) async -> String? {
    do throws(ResponseError) {
      try await body()
      return nil
    } catch {
      return error.message
    }
  }

  @Test func aPlantedSymlinkIsNeverAppendedThrough() async throws {
    let state = TemporaryDirectory("state-link")
    let outside = TemporaryDirectory("state-outside")
    let victim = outside.path + "/victim"
    try "untouched\n".write(toFile: victim, atomically: false, encoding: .utf8)
    #expect(symlink(victim, state.path + "/feedback.jsonl") == 0)
    #expect(symlink(victim, state.path + "/feedback-delivered.jsonl") == 0)
    let store = FeedbackStore(directory: state.path)
    let appended = await Self.message { () throws(ResponseError) in try await store.append(Self.record("a")) }
    #expect(appended?.contains("symlink") == true, "\(appended ?? "appended")")
    let marked = await Self.message { () throws(ResponseError) in
      try await store.mark(.init(feedbackId: "a", outcome: .delivered, httpStatus: 200))
    }
    #expect(marked != nil)
    #expect(throws: ResponseError.self) { try store.readRecords() }
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched\n")
  }

  @Test(arguments: [0o777, 0o770, 0o720, 0o702, 0o1777] as [mode_t])
  func aDirectoryOthersMayWriteIsRefused(mode: mode_t) async throws {
    let state = TemporaryDirectory("state-mode")
    #expect(chmod(state.path, mode) == 0)
    let store = FeedbackStore(directory: state.path)
    let message = await Self.message { () throws(ResponseError) in try await store.append(Self.record("a")) }
    #expect(message?.contains("writable by group or others") == true, "\(message ?? "appended")")
    #expect(message?.contains("--state-dir") == true)
    #expect(!(message ?? "").contains(state.path))
    #expect(!FileManager.default.fileExists(atPath: state.path + "/feedback.jsonl"))
    #expect(throws: ResponseError.self) { try store.readRecords() }
  }

  @Test func aDirectoryOfAnotherUserIsRefused() async throws {
    guard geteuid() == 0 else {
      print("SKIPPED aDirectoryOfAnotherUserIsRefused: needs root to chown")
      return
    }
    let state = TemporaryDirectory("state-owner")
    #expect(chown(state.path, 65534, 65534) == 0)
    let store = FeedbackStore(directory: state.path)
    let message = await Self.message { () throws(ResponseError) in try await store.append(Self.record("a")) }
    #expect(message?.contains("owned by another user") == true, "\(message ?? "appended")")
    #expect(!FileManager.default.fileExists(atPath: state.path + "/feedback.jsonl"))
  }

  @Test func aPrivateDirectoryWorksAndAMissingOneIsMadePrivate() async throws {
    let parent = TemporaryDirectory("state-new")
    let store = FeedbackStore(directory: parent.path + "/a/b")
    try await store.append(Self.record("a"))
    #expect(try store.readRecords().records.count == 1)
    var info = stat()
    #expect(stat(parent.path + "/a/b", &info) == 0)
    #expect(info.st_mode & 0o777 == 0o700)
  }

  @Test func noDirectoryOrARelativeOneIsAnErrorNamingStateDir() async throws {
    let cwd = FileManager.default.currentDirectoryPath
    for store in [FeedbackStore(directory: nil), FeedbackStore(directory: "relative-state-\(getpid())")] {
      let message = await Self.message { () throws(ResponseError) in try await store.append(Self.record("a")) }
      #expect(message?.contains("--state-dir") == true, "\(message ?? "appended")")
      #expect(throws: ResponseError.self) { try store.readRecords() }
    }
    let made = FileManager.default.fileExists(atPath: cwd + "/relative-state-\(getpid())")
    if made { try? FileManager.default.removeItem(atPath: cwd + "/relative-state-\(getpid())") }
    #expect(!made)
    #expect(!FileManager.default.fileExists(atPath: cwd + "/.local"))
  }

  // MARK: The processes

  /// With HOME unset and no XDG_STATE_HOME, started inside the workspace:
  /// the process serves everything else, feedback is an error naming
  /// --state-dir, and nothing is written into the workspace.
  @Test func withoutHOMEFeedbackIsRefusedAndTheRestWorks() throws {
    let binary = BridgeProcess.binaryPath
    let workspace = TemporaryDirectory("no-home-ws")
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = nil
    environment["XDG_STATE_HOME"] = nil
    let health = try Program.run(
      binary, ["call", "health", "--workspace", "."], in: workspace.path, environment: environment)
    #expect(health.status == 0, "\(health.allOutput)")
    let feedback = try Program.run(
      binary, ["call", "submitFeedback", #"{"polarity":"positive"}"#, "--workspace", "."], in: workspace.path,
      environment: environment)
    #expect(feedback.status != 0)
    #expect(feedback.errors.contains("--state-dir"), "\(feedback.allOutput)")
    let list = try Program.run(binary, ["feedback", "list"], in: workspace.path, environment: environment)
    #expect(list.status != 0)
    #expect(list.errors.contains("--state-dir"), "\(list.allOutput)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).isEmpty)
  }

  /// A relative --state-dir is the directory the command was started in
  /// plus that path, resolved once.
  @Test func aRelativeStateDirIsResolvedAgainstTheStartingDirectory() throws {
    let binary = BridgeProcess.binaryPath
    let workspace = TemporaryDirectory("rel-state-ws")
    let start = TemporaryDirectory("rel-state-cwd")
    let stored = try Program.run(
      binary,
      ["call", "submitFeedback", #"{"polarity":"positive"}"#, "--workspace", workspace.path, "--state-dir", "state"],
      in: start.path)
    #expect(stored.status == 0, "\(stored.allOutput)")
    #expect(FileManager.default.fileExists(atPath: start.path + "/state/feedback.jsonl"))
    let list = try Program.run(binary, ["feedback", "list", "--state-dir", "state"], in: start.path)
    #expect(list.status == 0, "\(list.allOutput)")
    #expect(list.output.split(separator: "\n").count == 1)
  }
}
