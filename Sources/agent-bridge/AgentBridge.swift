import ArgumentParser
import Bridge

@main
struct AgentBridge: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agent-bridge",
    abstract: "Serve an AI agent's workspace to editors: the OpenHands workspace API as JSON-RPC 2.0.",
    discussion: """
      With no subcommand, agent-bridge speaks JSON-RPC 2.0 on stdin and stdout \
      (Content-Length or newline-delimited framing, detected per message), as an \
      editor plugin or a script expects. Logs go to stderr; stdout carries protocol \
      bytes only.

      Try it:
        printf '{"jsonrpc":"2.0","id":1,"method":"health"}\\n' | agent-bridge
      """,
    version: BridgeVersion.long,
    subcommands: [
      StdioCommand.self, ServeCommand.self, CallCommand.self, WatchCommand.self, OpenRPCCommand.self, FeedbackCommand.self,
    ],
    defaultSubcommand: StdioCommand.self
  )

  /// ArgumentParser's entry point, after starting what the run will need
  /// anyway (see `WarmUp`) when it will read a repository.
  static func main() async {
    if readsRepositories(Array(CommandLine.arguments.dropFirst())) { WarmUp.start() }
    await main(nil)
  }

  /// Serving does (stdio, serve); a one-shot call only for the methods that
  /// read git (elsewhere the set-up would only compete with the call for
  /// the CPU); printing commands never do.
  static func readsRepositories(_ arguments: [String]) -> Bool {
    let informational: Set<String> = ["-h", "--help", "help", "--version", "openrpc", "feedback"]
    if arguments.contains(where: informational.contains) { return false }
    if arguments.first == "call" {
      return arguments.contains(where: WarmUp.methodsReadingRepositories.contains)
    }
    return true
  }
}
