import Foundation
import JSONRPC
import Testing
import TestSupport

/// Long requests over real pipes stop promptly on `$/cancelRequest`.
@Suite struct BoundedWorkTests {
  /// A walk that archives nothing for a long time (every entry excluded,
  /// each tested against a long exclude list) still answers a cancel at
  /// once, and the process goes on serving.
  @Test func zipWalkOfExcludedEntriesHonoursCancel() async throws {
    let workspace = BridgeProcess.makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    for index in 0..<3000 { _ = FileManager.default.createFile(atPath: workspace + "/f\(index)", contents: nil) }
    let bridge = try BridgeProcess(["--workspace", workspace])
    let client = bridge.client
    let exclude = (0..<20_000).map { JSONValue.string("nomatch\($0)") } + ["*"]
    let destination = BridgeProcess.makeTemporaryDirectory() + "/out.zip"
    client.send(
      .object([
        "jsonrpc": "2.0", "id": 1, "method": "zipDirectory",
        "params": .object(["exclude": .array(exclude), "destination": .string(destination)]),
      ]), framing: .ndjson)
    try await Task.sleep(for: .milliseconds(700))
    let start = ContinuousClock.now
    client.send(.json(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#), framing: .ndjson)
    let reply = try await client.expectMessage(timeout: .seconds(30))
    let took = ContinuousClock.now - start
    #expect(reply["error"]?["code"] == -32800)
    #expect(took < .seconds(1), "cancel answered after \(took)")
    #expect(!FileManager.default.fileExists(atPath: destination))
    client.send(.json(#"{"jsonrpc":"2.0","id":2,"method":"health"}"#), framing: .ndjson)
    #expect(try await client.expectMessage()["result"] == "OK")
  }
}
