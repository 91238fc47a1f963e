#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// What survives a crash, and what a workspace changing underfoot does to a
/// running request: the built binary over real pipes, killed with SIGKILL
/// (no handler, no cleanup), real files and real git repositories.
@Suite(.serialized) struct CrashSafetyTests {
  // MARK: kill -9 during zipDirectory

  /// Killed while the archive is being written, at several points, the
  /// destination is either absent or still the file it was before: never a
  /// partial archive. Nothing else is left beside it: on Linux the archive
  /// is written to an unnamed file (O_TMPFILE) until it is complete.
  @Test func killDuringZipLeavesNoPartialArchiveAtTheDestination() async throws {
    let root = try TempDirectory()
    let workspace = root.path + "/workspace"
    try makeIncompressibleTree(workspace, files: 24, bytesEach: 2 << 20)
    let out = root.path + "/out"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let destination = out + "/workspace.zip"
    let previous = Array("the archive from yesterday".utf8)

    // Kill points: as soon as the temporary file exists, once it holds some
    // bytes, and once it holds most of the archive. Twice with a previous
    // archive at the destination, twice without.
    let killAt = [0, 1 << 20, 8 << 20, 20 << 20]
    for (round, threshold) in killAt.enumerated() {
      let hadPrevious = round % 2 == 0
      if hadPrevious {
        try Data(previous).write(to: URL(fileURLWithPath: destination))
      } else {
        unlink(destination)
      }
      let bridge = try BridgeProcess(["stdio", "--workspace", workspace])
      bridge.client.send(
        ["jsonrpc": "2.0", "id": 1, "method": "zipDirectory",
         "params": ["destination": .string(destination), "compression": "deflate"]], framing: .ndjson)
      let partial = try await waitForPartial(in: out, atLeast: threshold, bridge: bridge)
      kill(bridge.pid, SIGKILL)
      #expect(try bridge.waitForExit() == 128 + SIGKILL)
      #expect(partial, "round \(round): the archive was never seen being written; the kill came too late")

      if hadPrevious {
        let now = try [UInt8](Data(contentsOf: URL(fileURLWithPath: destination)))
        #expect(now == previous, "round \(round): the destination changed under a killed zip")
      } else {
        #expect(access(destination, F_OK) != 0, "round \(round): a killed zip left a file at the destination")
      }
      let names = try FileManager.default.contentsOfDirectory(atPath: out)
      #expect(names.filter { $0 != "workspace.zip" } == [], "round \(round): files left behind")
    }

    // And the next run, at the same destination, writes a good archive.
    let bridge = try BridgeProcess(["stdio", "--workspace", workspace])
    bridge.client.send(
      ["jsonrpc": "2.0", "id": 2, "method": "zipDirectory", "params": ["destination": .string(destination)]],
      framing: .ndjson)
    let reply = try await bridge.client.expectMessage(timeout: .seconds(120))
    #expect(reply["result"]?["entries"] == 24, "\(reply)")
    #expect(try unzipTest(destination).status == 0)
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
  }

  /// Polls the bridge's open files for the archive being written into
  /// `directory` (named or not, it is open there) until it holds `atLeast`
  /// bytes. False if the zip finished first.
  private func waitForPartial(in directory: String, atLeast bytes: Int, bridge: BridgeProcess) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(60)
    let descriptors = "/proc/\(bridge.pid)/fd"
    while ContinuousClock.now < deadline {
      for fd in (try? FileManager.default.contentsOfDirectory(atPath: descriptors)) ?? [] {
        let link = descriptors + "/" + fd
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link),
          target.hasPrefix(directory + "/")
        else { continue }
        var info = stat()
        if stat(link, &info) == 0, Int(info.st_size) >= bytes { return true }
      }
      if try await !bridge.client.isQuiet(for: .milliseconds(1)) { return false }  // It answered: done.
    }
    return false
  }

  // MARK: kill -9 after feedback is acknowledged

  /// Feedback is acknowledged only once it is on disk: kill the process
  /// while more submissions are in flight, and every acknowledged record is
  /// in the store; the store is still readable and appendable afterwards.
  @Test func killAfterFeedbackIsAcknowledgedLosesNothing() async throws {
    let root = try TempDirectory()
    let state = root.path + "/state"
    let workspace = root.path + "/workspace"
    try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)

    var acknowledged: [String: String] = [:]  // feedback_id -> the text sent
    for round in 0..<3 {
      let bridge = try BridgeProcess(["stdio", "--workspace", workspace, "--state-dir", state])
      let total = 60
      for n in 0..<total {
        let text = "round \(round) note \(n) " + String(repeating: "x", count: n * 97 % 3000)
        bridge.client.send(
          ["jsonrpc": "2.0", "id": .int(Int64(n)), "method": "submitFeedback",
           "params": ["polarity": "positive", "permissions": "private", "feedback": .string(text),
                      "trajectory": ["round": .int(Int64(round)), "n": .int(Int64(n))]]],
          framing: n % 2 == 0 ? .ndjson : .lsp)
      }
      // Kill after a third of the acknowledgements, with the rest in flight.
      var seen = 0
      while seen < total / 3 {
        let reply = try await bridge.client.expectMessage()
        let id = try #require(reply["result"]?["body"]?["feedback_id"]?.stringValue, "\(reply)")
        let n = Int(reply["id"]?.intValue ?? -1)
        acknowledged[id] = "round \(round) note \(n) "
        seen += 1
      }
      kill(bridge.pid, SIGKILL)
      #expect(try bridge.waitForExit() == 128 + SIGKILL)
    }

    let store = try String(contentsOfFile: state + "/feedback.jsonl", encoding: .utf8)
    var lines = store.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    var stored: [String: String] = [:]
    var unreadable = 0
    for line in lines {
      guard let record = try? JSONParser.parse(line), let id = record["feedback_id"]?.stringValue else {
        unreadable += 1
        continue
      }
      stored[id] = record["feedback"]?.stringValue ?? ""
    }
    #expect(unreadable == 0, "torn lines in the store: appends must be whole")
    for (id, prefix) in acknowledged {
      let text = try #require(stored[id], "acknowledged feedback \(id) (\(prefix)) is not in the store")
      #expect(text.hasPrefix(prefix), "feedback \(id) was stored as \(text.prefix(40))")
    }

    // The store takes more after the crashes.
    let bridge = try BridgeProcess(["stdio", "--workspace", workspace, "--state-dir", state])
    bridge.client.send(
      ["jsonrpc": "2.0", "id": 1, "method": "submitFeedback", "params": ["polarity": "negative"]], framing: .ndjson)
    let reply = try await bridge.client.expectMessage()
    let id = try #require(reply["result"]?["body"]?["feedback_id"]?.stringValue)
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
    let after = try String(contentsOfFile: state + "/feedback.jsonl", encoding: .utf8)
    #expect(after.contains(id))
  }

  // MARK: A workspace changing under running requests

  /// Files and directories are deleted, added and renamed while zips (to a
  /// destination and inline), gitChanges and recursive listings run: every
  /// answer is a well-formed result or an error with a message, archives
  /// pass `unzip -t` with the entry count they claim, and the process lives.
  @Test func aWorkspaceChangingUnderZipAndGitChangesGivesConsistentAnswers() async throws {
    let root = try TempDirectory()
    let workspace = root.path + "/workspace"
    let out = root.path + "/out"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    try makeRepository(workspace, files: 300)

    let churn = Churn(workspace: workspace)
    churn.start()
    defer { churn.stop() }

    let bridge = try BridgeProcess(["stdio", "--workspace", workspace], timeout: .seconds(120))
    var expected: [JSONValue] = []
    var n: Int64 = 0
    for round in 0..<12 {
      let calls: [(String, JSONValue)] = [
        ("zipDirectory", ["destination": .string(out + "/r\(round).zip")]),
        ("zipDirectory", ["compression": "store"]),
        ("gitChanges", [:]),
        ("listFiles", ["recursive": true]),
        ("gitChanges", [:]),
      ]
      for (method, params) in calls {
        n += 1
        expected.append(.int(n))
        bridge.client.send(
          ["jsonrpc": "2.0", "id": .int(n), "method": .string(method), "params": params],
          framing: n % 2 == 0 ? .lsp : .ndjson)
      }
      let (byId, others) = try await bridge.client.replies(for: Array(expected.suffix(calls.count)))
      #expect(others.isEmpty, "\(others)")
      for (offset, (method, params)) in calls.enumerated() {
        let reply = try #require(byId[String(n - Int64(calls.count) + 1 + Int64(offset))])
        try checkAnswer(method: method, params: params, reply: reply, scratch: out)
      }
    }
    churn.stop()
    #expect(churn.operations > 100, "the workspace barely changed (\(churn.operations) operations)")

    bridge.client.send(["jsonrpc": "2.0", "id": "last", "method": "health"], framing: .ndjson)
    #expect(try await bridge.client.expectMessage()["result"] == "OK")
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
    #expect(!bridge.stderr.contains("Fatal error"), "\(bridge.stderr.suffix(2000))")
  }

  private func checkAnswer(method: String, params: JSONValue, reply: JSONValue, scratch: String) throws {
    if let error = reply["error"] {
      // A clear error: a code, a message that says something, never an
      // internal error.
      let code = error["code"]?.intValue ?? 0
      let message = error["message"]?.stringValue ?? ""
      #expect(code != -32603 && code != 0, "\(method) failed internally: \(reply)")
      #expect(message.count > 5, "\(method): an error without a message: \(reply)")
      return
    }
    let result = try #require(reply["result"], "\(reply)")
    switch method {
    case "zipDirectory":
      let archive: String
      if let path = result["path"]?.stringValue {
        archive = path
        let sha = try String(decoding: runTool("/usr/bin/sha256sum", [path]).output.prefix(64), as: UTF8.self)
        #expect(result["sha256"]?.stringValue == sha, "sha256 differs from the file's")
      } else {
        let base64 = try #require(result["data"]?.stringValue, "\(result)")
        let data = try #require(Data(base64Encoded: base64))
        #expect(result["bytes"]?.intValue == Int64(data.count))
        archive = scratch + "/inline-\(UInt32.random(in: 0...UInt32.max)).zip"
        try data.write(to: URL(fileURLWithPath: archive))
      }
      let test = try unzipTest(archive)
      #expect(test.status == 0, "unzip -t failed on an archive made under churn: \(test.output.suffix(500))")
      let listed = try runTool("/usr/bin/zipinfo", ["-1", archive]).output.split(separator: UInt8(ascii: "\n")).count
      #expect(Int64(listed) == result["entries"]?.intValue, "entries says \(result["entries"] ?? "-"), the archive holds \(listed)")
    case "gitChanges":
      let entries = try #require(result.arrayValue, "\(result)")
      var keys: [String] = []
      for entry in entries {
        let status = entry["status"]?.stringValue ?? "?"
        #expect(["A", "M", "D", "U"].contains(status), "\(entry)")
        keys.append((entry["path"]?.stringValue ?? "") + "\u{0}" + status)
      }
      #expect(Set(keys).count == keys.count, "duplicate entries in gitChanges")
      let paths = entries.map { Array(($0["path"]?.stringValue ?? "").utf8) }
      #expect(zip(paths, paths.dropFirst()).allSatisfy { !$1.lexicographicallyPrecedes($0) }, "gitChanges not sorted")
    case "listFiles":
      let names = try #require(result.arrayValue, "\(result)").compactMap(\.stringValue)
      #expect(Set(names).count == names.count, "duplicate entries in listFiles")
    default:
      break
    }
  }
}

// MARK: Helpers

/// A temporary directory removed with everything in it.
final class TempDirectory {
  let path: String
  init() throws { path = BridgeProcess.makeTemporaryDirectory() }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Files of random bytes, so that deflate works hard and the archive is as
/// large as the input: a zip that takes long enough to be killed halfway.
func makeIncompressibleTree(_ root: String, files: Int, bytesEach: Int) throws {
  try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
  let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
  defer { try? random.close() }
  for i in 0..<files {
    let data = random.readData(ofLength: bytesEach)
    try data.write(to: URL(fileURLWithPath: root + (i % 2 == 0 ? "/" : "/sub/") + "blob\(i).bin"))
  }
}

/// A committed git repository with `files` small files in a few directories.
func makeRepository(_ root: String, files: Int) throws {
  for i in 0..<files {
    let directory = root + "/d\(i % 7)/e\(i % 3)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: directory + "/f\(i).txt"))
  }
  for arguments in [
    ["init", "-q", "-b", "main"], ["add", "-A"],
    ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "initial"],
  ] {
    let git = try runTool("/usr/bin/git", ["-C", root] + arguments)
    #expect(git.status == 0, "git \(arguments): \(String(decoding: git.output, as: UTF8.self))")
  }
}

@discardableResult
func runTool(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: [UInt8]) {
  let result = try Program.run(path, arguments)
  return (result.status, [UInt8](result.stdout + result.stderr))
}

func unzipTest(_ archive: String) throws -> (status: Int32, output: String) {
  let result = try runTool("/usr/bin/unzip", ["-tq", archive])
  return (result.status, String(decoding: result.output, as: UTF8.self))
}

/// Deletes, adds and renames files and directories in a workspace on a
/// thread of its own until stopped.
final class Churn: @unchecked Sendable {
  let workspace: String
  private let running = Atomic<Bool>(false)
  private let count = Atomic<Int>(0)
  private let done = DispatchSemaphore(value: 0)

  init(workspace: String) { self.workspace = workspace }

  var operations: Int { count.load(ordering: .relaxed) }

  func start() {
    running.store(true, ordering: .relaxed)
    Thread.detachNewThread { [self] in
      var generator = SystemRandomNumberGenerator()
      var serial = 0
      while running.load(ordering: .relaxed) {
        serial += 1
        let directory = workspace + "/d\(Int.random(in: 0..<7, using: &generator))/e\(Int.random(in: 0..<3, using: &generator))"
        switch Int.random(in: 0..<6, using: &generator) {
        case 0, 1:
          // Delete a file that is there.
          if let names = try? FileManager.default.contentsOfDirectory(atPath: directory), let name = names.randomElement() {
            unlink(directory + "/" + name)
          }
        case 2:
          mkdir(directory, 0o755)
          try? Data(String(repeating: "new \(serial)\n", count: serial % 50 + 1).utf8)
            .write(to: URL(fileURLWithPath: directory + "/n\(serial).txt"))
        case 3:
          if let names = try? FileManager.default.contentsOfDirectory(atPath: directory), let name = names.randomElement() {
            rename(directory + "/" + name, directory + "/r\(serial)-" + name)
          }
        case 4:
          // A whole directory appears and, often, goes again.
          let fresh = workspace + "/tmp\(serial % 5)"
          try? FileManager.default.createDirectory(atPath: fresh + "/x/y", withIntermediateDirectories: true)
          try? Data("deep \(serial)\n".utf8).write(to: URL(fileURLWithPath: fresh + "/x/y/z.txt"))
          if serial % 2 == 0 { try? FileManager.default.removeItem(atPath: fresh) }
        default:
          // Rewrite a file in place, shorter or longer than before.
          if let names = try? FileManager.default.contentsOfDirectory(atPath: directory), let name = names.randomElement() {
            try? Data(String(repeating: "changed \(serial)\n", count: serial % 200).utf8)
              .write(to: URL(fileURLWithPath: directory + "/" + name))
          }
        }
        count.add(1, ordering: .relaxed)
        if serial % 8 == 0 { usleep(200) }
      }
      done.signal()
    }
  }

  func stop() {
    if running.exchange(false, ordering: .relaxed) { done.wait() }
  }
}
