import ArgumentParser
import Bridge
import BridgeProtocol
import JSONRPC

struct OpenRPCCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "openrpc",
    abstract: "Print the OpenRPC document (what rpc.discover answers).",
    discussion: "Protocol/openrpc.json is this output: agent-bridge openrpc > Protocol/openrpc.json"
  )

  func run() throws {
    print(JSONWriter.pretty(OpenRPC.document(serverVersion: BridgeVersion.version)), terminator: "")
  }
}
