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
    let arguments = Array(CommandLine.arguments.dropFirst())
    if warmsUpAtStart(arguments) { WarmUp.start() }
    guard arguments.isEmpty else { return await main(nil) }
    // How editors spawn it: a stdio session on the defaults, which leaves
    // ArgumentParser nothing to parse, so its set-up (reflection over
    // every option of the command chain) is skipped. Errors end the
    // process as ArgumentParser's own handling of `run`'s errors would.
    do {
      try await StdioSession().run()
    } catch {
      exit(withError: error)
    }
  }

  /// Serving (stdio, `serve`, `watch`) reads repositories soon, and a
  /// one-shot call does for the methods that read git (elsewhere the set-up
  /// would only compete with the call for the CPU); printing commands never
  /// do. Started at exec, the set-up is over before a client's `exit` can
  /// come: libgit2's set-up and exit(3) must not overlap (libcrypto crashes).
  static func warmsUpAtStart(_ arguments: [String]) -> Bool {
    let informational: Set<String> = ["-h", "--help", "help", "--version", "openrpc", "feedback"]
    if arguments.contains(where: informational.contains) { return false }
    if arguments.first == "call" {
      return arguments.contains(where: WarmUp.methodsReadingRepositories.contains)
    }
    return true
  }
}
