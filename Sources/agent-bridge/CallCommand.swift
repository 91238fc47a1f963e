import ArgumentParser
import Bridge
import BridgeProtocol
import Foundation
import JSONRPC

struct CallCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "call",
    abstract: "Run one method and print its result.",
    discussion: """
      Prints the result as JSON on stdout and exits 0, or prints the error \
      ({"code","message","data"}) on stderr and exits 1. PARAMS is a JSON object.

      Examples:
        agent-bridge call health
        agent-bridge call listFiles '{"path":"src"}'
        agent-bridge call gitChanges --workspace ~/project --config bridge.json
      """
  )

  @OptionGroup var common: CommonOptions

  @Argument(help: "The method, e.g. health, listFiles, gitChanges.")
  var method: String

  @Argument(help: "Its params as a JSON object (default: none).")
  var params: String?

  func run() async throws {
    let output = ProtocolOutput.claimStandardOutput()
    common.settings.bootstrapLogging()
    var parsed: JSONValue?
    if let params {
      do {
        parsed = try JSONParser.parse(params)
      } catch {
        // The same error a JSON-RPC client would get for a bad message.
        fail(BridgeError.parseError("Parse error: PARAMS is not valid JSON: \(error)"))
      }
    }
    let dispatcher = try common.settings.dispatcher()
    switch await dispatcher.call(method: method, params: parsed) {
    case .success(let result):
      var bytes = JSONWriter.encode(result)
      bytes.append(0x0A)
      _ = bytes.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
    case .failure(let error):
      fail(error)
    }
  }

  /// Prints the error object on stderr and exits 1, as the contract says.
  private func fail(_ error: ResponseError) -> Never {
    FileHandle.standardError.write(Data((JSONWriter.string(error.json) + "\n").utf8))
    Foundation.exit(1)
  }
}
