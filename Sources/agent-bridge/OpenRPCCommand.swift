import ArgumentParser
import Bridge
import BridgeProtocol
import Foundation
import JSONRPC

struct OpenRPCCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "openrpc",
    abstract: "Print the OpenRPC document (what rpc.discover answers), or regenerate Protocol/.",
    discussion: """
      Protocol/ is generated from the registry of request types; after adding or \
      changing a method, regenerate it:
        agent-bridge openrpc --write Protocol
      That writes Protocol/openrpc.json and one JSON Schema per method's params and \
      result under Protocol/schemas/. A test fails while they disagree with the registry.
      """
  )

  @Option(help: ArgumentHelp("Write openrpc.json and schemas/ into this directory.", valueName: "dir"))
  var write: String?

  func run() throws {
    let document = JSONWriter.pretty(OpenRPC.document(serverVersion: BridgeVersion.version))
    guard let directory = write else {
      print(document, terminator: "")
      return
    }
    let root = URL(fileURLWithPath: directory)
    let schemas = root.appendingPathComponent("schemas")
    try FileManager.default.createDirectory(at: schemas, withIntermediateDirectories: true)
    try Data(document.utf8).write(to: root.appendingPathComponent("openrpc.json"), options: .atomic)
    let files = OpenRPC.schemaFiles()
    // Schemas of methods that no longer exist must not linger.
    let keep = Set(files.map(\.name))
    for stale in try FileManager.default.contentsOfDirectory(atPath: schemas.path)
    where stale.hasSuffix(".json") && !keep.contains(stale) {
      try FileManager.default.removeItem(at: schemas.appendingPathComponent(stale))
    }
    for file in files {
      try Data(JSONWriter.pretty(file.document).utf8).write(
        to: schemas.appendingPathComponent(file.name), options: .atomic)
    }
  }
}
