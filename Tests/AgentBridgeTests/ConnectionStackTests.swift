import JSONRPC
import TestSupport
import Testing

/// The connection's reader parses every message on a thread of its own; the
/// deepest message the contract accepts must parse there however small the
/// process's stack limit (glibc sizes default threads by `ulimit -s`).
@Suite struct ConnectionStackTests {
  /// A request whose whole message nests `depth` levels (the envelope is one).
  static func request(id: Int, depth: Int) -> String {
    let inner = String(repeating: "[", count: depth - 2) + String(repeating: "]", count: depth - 2)
    return #"{"jsonrpc":"2.0","id":\#(id),"method":"listFiles","params":{"nested":\#(inner)}}"#
  }

  @Test func deepestAcceptedRequestParsesUnderSmallStackLimit() async throws {
    let bridge = try BridgeProcess(stackLimitKiB: 512)
    let client = bridge.client
    client.sendRaw(Self.request(id: 7, depth: JSONParser.defaultMaxDepth) + "\n")
    let reply = try await client.expectMessage()
    #expect(reply["id"] == 7)
    #expect(reply["error"]?["code"] != -32700)

    client.sendRaw(Self.request(id: 8, depth: JSONParser.defaultMaxDepth + 1) + "\n")
    let tooDeep = try await client.expectMessage()
    #expect(tooDeep["id"] == .null)
    #expect(tooDeep["error"]?["code"] == -32700)

    client.sendRaw(#"{"jsonrpc":"2.0","id":9,"method":"health"}"# + "\n")
    #expect(try await client.expectMessage() == .json(#"{"jsonrpc":"2.0","id":9,"result":"OK"}"#))
    client.closeInput()
    #expect(try await client.next() == nil)
    #expect(try bridge.waitForExit() == 0)
  }
}
