import ArgumentParser
import Bridge
import Foundation
import JSONRPC

struct WatchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "watch",
    abstract: "Print the workspace's changes as they happen.",
    discussion: """
      Subscribes to the workspace as an editor would (subscribe {events: ["files", "git"]}) \
      and prints what changes: a line per created, changed or deleted path, and the \
      gitChanges answer whenever it differs (first at once). With --json, one \
      workspace/filesChanged or workspace/gitChanged notification per line, as on stdio. \
      Runs until interrupted, or until the workspace is deleted (exit 0).

      Examples:
        agent-bridge watch --workspace ~/project
        agent-bridge watch --json | jq -c '.params.changes'
      """
  )

  @OptionGroup var common: CommonOptions

  @Flag(help: "One JSON notification per line instead of lines for a person.")
  var json = false

  func run() async throws {
    let output = ProtocolOutput.claimStandardOutput()
    common.settings.bootstrapLogging()
    let dispatcher = try common.settings.dispatcher()
    let printer = WatchPrinter(output: output, json: json)
    let method = "subscribe"
    let request = IncomingRequest(id: .number(1), method: method, params: ["events": ["files", "git"]])
    let context = RequestContext(request: request, notifications: printer)
    if case .failure(let error) = await dispatcher.call(method: method, params: request.params, context: context) {
      FileHandle.standardError.write(Data((JSONWriter.string(error.json) + "\n").utf8))
      Foundation.exit(1)
    }
    await printer.waitForWorkspaceDeleted()
  }
}
