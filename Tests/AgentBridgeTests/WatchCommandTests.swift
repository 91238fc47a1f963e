import Foundation
import JSONRPC
import TestSupport
import Testing

/// `agent-bridge watch`: a subscription printed for scripts and people.
@Suite struct WatchCommandTests {
  @Test func jsonPrintsOneNotificationPerLine() async throws {
    let (root, _) = try SubscriptionProcessTests.start()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let watch = try BridgeProcess(["watch", "--workspace", root, "--json"], directory: root)
    let first = try await watch.client.expectMessage()
    #expect(first["method"] == "workspace/gitChanged" && first["params"]?["changes"] == .array([]))
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/b.txt"))
    let seen = try await SubscriptionProcessTests.read(watch) { message in
      SubscriptionProcessTests.isGit(message) && message["params"]?["changes"] == [["status": "A", "path": "b.txt"]]
    }
    #expect(seen.contains { SubscriptionProcessTests.files($0)["b.txt"] == "created" })
  }

  /// Human lines, and the end: deleting the workspace ends the watch with 0.
  @Test func linesForPeopleAndExitWhenTheWorkspaceGoes() throws {
    let (root, bridge) = try SubscriptionProcessTests.start()
    bridge.client.closeInput()
    let changer = Thread {
      usleep(700_000)
      try? Data("new\n".utf8).write(to: URL(fileURLWithPath: root + "/b.txt"))
      usleep(500_000)
      try? FileManager.default.removeItem(atPath: root)
    }
    changer.start()
    let run = try Program.run(BridgeProcess.binaryPath, ["watch", "--workspace", root])
    #expect(run.status == 0)
    let lines = run.output.split(separator: "\n").map(String.init)
    #expect(lines.first == "git: no changes")
    #expect(lines.contains("created b.txt"))
    #expect(lines.contains("git: 1 changed") && lines.contains("  A b.txt"))
    #expect(lines.last == "deleted (the workspace)")
  }
}
