#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// A stdio session ends on SIGTERM even as PID 1 of its namespace (a
/// container started with `podman run -i IMAGE stdio`), where the kernel
/// drops every signal the process has no handler for.
@Suite struct SignalExitTests {
  @Test func sigtermEndsAStdioSessionRunningAsPidOne() async throws {
    let unshare = try #require(
      ["/usr/bin/unshare", "/bin/unshare"].first { FileManager.default.isExecutableFile(atPath: $0) },
      "unshare (util-linux) is needed")
    let workspace = BridgeProcess.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    let session = try SpawnedProcess(
      [unshare, "--pid", "--fork", "--kill-child", BridgeProcess.binaryPath, "--workspace", workspace])
    session.write(#"{"jsonrpc":"2.0","id":1,"method":"health"}"# + "\n")
    let first = session.readLine()
    try #require(first?.contains(#""result":"OK""#) == true, "no reply from the bridge: \(first ?? "nothing")")

    // The bridge is the only child of unshare, and PID 1 inside.
    let children = try String(contentsOfFile: "/proc/\(session.pid)/task/\(session.pid)/children", encoding: .utf8)
    let bridge = try #require(children.split(separator: " ").first.flatMap { pid_t($0) })
    let status = try String(contentsOfFile: "/proc/\(bridge)/status", encoding: .utf8)
    #expect(status.contains("NSpid:\t\(bridge)\t1"), "not PID 1 in its namespace: \(status)")

    kill(bridge, SIGTERM)
    let deadline = ContinuousClock.now + .seconds(5)
    while kill(bridge, 0) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    let ended = kill(bridge, 0) != 0
    #expect(ended, "the bridge ignored SIGTERM as PID 1")
    if !ended { kill(bridge, SIGKILL) }
    #expect(session.wait() == 128 + SIGTERM)
  }
}
