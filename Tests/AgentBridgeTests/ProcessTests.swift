#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeProtocol
import JSONRPC
import TestSupport
import Testing

/// The built binary over real pipes: what an editor or a script sees.
@Suite struct ProcessTests {
  static let health = #"{"jsonrpc":"2.0","id":1,"method":"health"}"#

  @Test func oneLineScriptedSession() async throws {
    let bridge = try BridgeProcess()
    bridge.client.sendRaw(Self.health + "\n")
    bridge.client.closeInput()
    let (reply, framing) = try #require(await bridge.client.next())
    #expect(reply == .json(#"{"jsonrpc":"2.0","id":1,"result":"OK"}"#))
    #expect(framing == .ndjson)
    #expect(try await bridge.client.next() == nil)
    #expect(try bridge.waitForExit() == 0)
  }

  @Test func lifecycleInitializeShutdownExit() async throws {
    let workspace = BridgeProcess.makeTemporaryDirectory()
    defer { rmdir(workspace) }
    let bridge = try BridgeProcess(["--log-level", "trace"])
    let client = bridge.client
    client.send(
      .json(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":null,"rootPath":"\#(workspace)","capabilities":{}}}"#),
      framing: .lsp)
    let initialize = try await client.expectMessage()
    let result = try #require(initialize["result"])
    #expect(result["serverInfo"]?["name"] == "agent-bridge")
    let methods = Set(result["capabilities"]?["methods"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    #expect(methods == Set(Registry.requests.map { $0.method } + ["rpc.discover"]))
    #expect(result["capabilities"]?["framing"] == ["lsp", "ndjson"])
    let id = try #require(result["conversationId"]?.stringValue)
    #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))

    client.send(.json(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#), framing: .lsp)
    client.send(.json(#"{"jsonrpc":"2.0","id":2,"method":"listConversations"}"#), framing: .lsp)
    let list = try await client.expectMessage()
    #expect(list["result"]?.arrayValue?.first?["workspace"]?.stringValue == realPath(workspace))
    #expect(list["result"]?.arrayValue?.first?["conversationId"]?.stringValue == id)

    client.send(.json(#"{"jsonrpc":"2.0","id":3,"method":"initialize","params":{}}"#), framing: .lsp)
    #expect(try await client.expectMessage()["error"]?["code"] == -32600)

    client.send(.json(#"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#), framing: .lsp)
    #expect(try await client.expectMessage() == .json(#"{"jsonrpc":"2.0","id":4,"result":null}"#))
    client.send(.json(#"{"jsonrpc":"2.0","id":5,"method":"health"}"#), framing: .lsp)
    #expect(try await client.expectMessage()["error"]?["code"] == -32600)
    client.send(.json(#"{"jsonrpc":"2.0","method":"exit"}"#), framing: .lsp)
    #expect(try await client.next() == nil)
    #expect(try bridge.waitForExit() == 0)
  }

  /// An editor closing: initialize, initialized, shutdown and exit back to
  /// back. Starting libgit2's set-up at `initialized` made about half of
  /// these starts die of SIGSEGV in libcrypto; exit must be 0 every time.
  @Test func aSessionClosedAtOnceExits0EveryTime() async throws {
    let workspace = BridgeProcess.makeTemporaryDirectory()
    defer { rmdir(workspace) }
    let session = [
      #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
      #"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
      #"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#,
      #"{"jsonrpc":"2.0","method":"exit"}"#,
    ].joined(separator: "\n") + "\n"
    for _ in 0..<20 {
      let bridge = try BridgeProcess(directory: workspace)
      bridge.client.sendRaw(session)
      _ = try await bridge.client.drain()
      #expect(try bridge.waitForExit() == 0, "stderr: \(bridge.stderr)")
    }
  }

  @Test func exitWithoutShutdownIsCode1() async throws {
    let bridge = try BridgeProcess()
    bridge.client.sendRaw(Self.health + "\n" + #"{"jsonrpc":"2.0","method":"exit"}"# + "\n")
    #expect(try await bridge.client.expectMessage()["result"] == "OK")
    #expect(try await bridge.client.next() == nil)
    #expect(try bridge.waitForExit() == 1)
  }

  @Test func endOfInputAnswersEverythingThenExits0() async throws {
    let bridge = try BridgeProcess()
    var stream = ""
    for i in 0..<500 {
      let method = ["health", "listConversations", "rpc.discover", "nope"][i % 4]
      let message = #"{"jsonrpc":"2.0","id":\#(i),"method":"\#(method)"}"#
      stream += i % 2 == 0 ? message + "\n" : "Content-Length: \(message.utf8.count)\r\n\r\n" + message
    }
    bridge.client.sendRaw(stream)
    bridge.client.closeInput()
    let replies = try await bridge.client.drain()
    #expect(replies.count == 500)
    #expect(Set(replies.compactMap { $0["id"]?.intValue }).count == 500)
    #expect(try bridge.waitForExit() == 0)
  }

  @Test func strictAnswersMinus32002BeforeInitialize() async throws {
    let bridge = try BridgeProcess(["--strict"])
    let client = bridge.client
    client.sendRaw(Self.health + "\n")
    #expect(try await client.expectMessage()["error"]?["code"] == -32002)
    client.sendRaw(#"{"jsonrpc":"2.0","id":2,"method":"rpc.discover"}"# + "\n")
    #expect(try await client.expectMessage()["error"]?["code"] == -32002)
    client.sendRaw(#"{"jsonrpc":"2.0","id":3,"method":"initialize","params":{}}"# + "\n")
    #expect(try await client.expectMessage()["result"]?["serverInfo"] != nil)
    client.sendRaw(#"{"jsonrpc":"2.0","id":4,"method":"health"}"# + "\n")
    #expect(try await client.expectMessage()["result"] == "OK")
    client.closeInput()
    #expect(try bridge.waitForExit() == 0)
  }

  @Test(arguments: ["rootUri", "workspaceFolders"])
  func initializeNamesTheWorkspaceByURI(_ field: String) async throws {
    let base = BridgeProcess.makeTemporaryDirectory()
    let workspace = base + "/with space é"
    mkdir(workspace, 0o755)
    defer {
      rmdir(workspace)
      rmdir(base)
    }
    let uri = "file://" + percentEncoded(workspace)
    let params = field == "rootUri" ? #"{"rootUri":"\#(uri)"}"# : #"{"workspaceFolders":[{"uri":"\#(uri)","name":"w"}]}"#
    let bridge = try BridgeProcess()
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":\#(params)}"# + "\n")
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":2,"method":"listConversations"}"# + "\n")
    let (byId, _) = try await bridge.client.replies(for: [1, 2])
    #expect(byId["1"]?["result"] != nil)
    #expect(byId["2"]?["result"]?.arrayValue?.first?["workspace"]?.stringValue == realPath(workspace))
  }

  @Test func initializeWithAMissingDirectoryIsInvalidParams() async throws {
    let bridge = try BridgeProcess()
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootPath":"/nonexistent/x"}}"# + "\n")
    #expect(try await bridge.client.expectMessage()["error"]?["code"] == -32602)
  }

  @Test func forcedFramingOnTheCommandLine() async throws {
    let lsp = try BridgeProcess(["--framing", "lsp"])
    lsp.client.sendRaw(Self.health + "\n")
    let (error, errorFraming) = try #require(await lsp.client.next())
    #expect(error["error"]?["code"] == -32700)
    #expect(errorFraming == .lsp)
    lsp.client.send(Self.health, framing: .lsp)
    #expect(try await lsp.client.next()?.message["result"] == "OK")

    let ndjson = try BridgeProcess(["--framing", "ndjson"])
    ndjson.client.send(Self.health, framing: .lsp)
    // The header line and the body (no newline) are not JSON lines.
    ndjson.client.sendRaw("\n")
    let (first, firstFraming) = try #require(await ndjson.client.next())
    #expect(first["error"]?["code"] == -32700)
    #expect(firstFraming == .ndjson)
    #expect(try await ndjson.client.next()?.message["result"] == "OK")
    ndjson.client.sendRaw(Self.health + "\n")
    #expect(try await ndjson.client.next()?.framing == .ndjson)
  }

  @Test func an80MiBMessageIsSkippedInBoundedMemory() async throws {
    let bridge = try BridgeProcess(timeout: .seconds(60))
    let size = 80 << 20
    bridge.client.sendRaw("Content-Length: \(size)\r\n\r\n")
    let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20)
    for _ in 0..<80 { bridge.client.sendRaw(chunk) }
    bridge.client.send(Self.health, framing: .lsp)
    let rejected = try await bridge.client.expectMessage()
    #expect(rejected["error"]?["code"] == -32600)
    #expect(rejected["id"] == .null)
    #expect(try await bridge.client.expectMessage()["result"] == "OK")
    let peakKiB = try #require(bridge.procStatusKiB("VmHWM"))
    #expect(peakKiB < 60 * 1024, "peak RSS \(peakKiB) KiB")
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
  }

  @Test func anOversizedJSONLineIsRejectedToo() async throws {
    let bridge = try BridgeProcess(["--max-message-bytes", "1000"])
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"pad":""# + String(repeating: "x", count: 5000) + "\"}}\n")
    bridge.client.sendRaw(#"{"jsonrpc":"2.0","id":2,"method":"health"}"# + "\n")
    #expect(try await bridge.client.expectMessage()["error"]?["code"] == -32600)
    #expect(try await bridge.client.expectMessage()["id"] == 2)
  }

  static let malformed: [String] = [
    "garbage\n", "garbage without newline then ", "{\n", "{\"jsonrpc\":\n", "[1,2\n", "}\n", "\u{1}\u{2}\n",
    "Content-Length: 5\r\n\r\nhello", "Content-Length: abc\r\n\r\n", "Content-Length: 99999999999999999999\r\n\r\n",
    "Content-Type: application/json\r\n\r\n{}", "X: y\n", "Content-Length: 3\r\nContent-Type: x; charset=latin1\r\n\r\n{ }",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":{\"a\":\"\u{7}\"}}\n",
    String(repeating: "[", count: 600) + "\n",
  ]

  @Test(arguments: [Framing.ndjson, Framing.lsp])
  func malformedInputNeverEndsTheSession(_ framing: Framing) async throws {
    let bridge = try BridgeProcess()
    for (index, bad) in Self.malformed.enumerated() {
      bridge.client.sendRaw(bad)
      // A line-based client ends its lines; an LSP one just sends the next
      // header, glued to whatever came before.
      if framing == .ndjson && !bad.hasSuffix("\n") { bridge.client.sendRaw("\n") }
      let id = 1000 + index
      bridge.client.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"health"}"#, framing: framing)
      // Every error before the reply must be a parse or request error.
      while true {
        let message = try await bridge.client.expectMessage()
        if message["id"] == .int(Int64(id)) {
          #expect(message["result"] == "OK", "after \(bad.debugDescription)")
          break
        }
        let code = message["error"]?["code"]?.intValue
        #expect(code == -32700 || code == -32600, "after \(bad.debugDescription): \(message)")
      }
    }
    // Invalid UTF-8 and nesting beyond 512 are parse errors, not crashes.
    bridge.client.sendRaw([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D, 0x0A])
    #expect(try await bridge.client.expectMessage()["error"]?["code"] == -32700)
    bridge.client.closeInput()
    _ = try await bridge.client.drain()
    #expect(try bridge.waitForExit() == 0)
  }

  @Test(arguments: [Framing.ndjson, Framing.lsp])
  func aBodyShorterThanItsLengthCostsOneMessageNotTheSession(_ framing: Framing) async throws {
    let bridge = try BridgeProcess()
    // The 7 declared bytes take the first byte of the next message with them.
    bridge.client.sendRaw(#"Content-Length: 7\#r\#n\#r\#n{"a":1"#)
    bridge.client.send(#"{"jsonrpc":"2.0","id":1,"method":"health"}"#, framing: framing)
    bridge.client.send(#"{"jsonrpc":"2.0","id":2,"method":"health"}"#, framing: framing)
    while true {
      let message = try await bridge.client.expectMessage()
      if message["id"] == 2 {
        #expect(message["result"] == "OK")
        break
      }
      #expect(message["error"]?["code"] != nil, "\(message)")
    }
    bridge.client.send(#"{"jsonrpc":"2.0","id":3,"method":"health"}"#, framing: framing)
    #expect(try await bridge.client.expectMessage()["id"] == 3)
  }

  @Test func stdoutCarriesProtocolBytesOnlyEvenWithTraceLogging() async throws {
    let bridge = try BridgeProcess(["--log-level", "trace"])
    bridge.client.sendRaw(Self.health + "\n" + #"{"jsonrpc":"2.0","method":"unknown/notification"}"# + "\n")
    bridge.client.send(#"{"jsonrpc":"2.0","id":2,"method":"nope"}"#, framing: .lsp)
    bridge.client.sendRaw("garbage\n")
    bridge.client.closeInput()
    // The wire client throws on any byte that is not part of a frame.
    let all = try await bridge.client.drain()
    #expect(all.count == 3)
    #expect(try bridge.waitForExit() == 0)
  }

  // MARK: One-shot commands

  func run(_ arguments: [String]) async throws -> (stdout: String, stderr: String, code: Int32) {
    let bridge = try BridgeProcess(arguments)
    bridge.client.closeInput()
    let output = try await bridge.client.readToEnd()
    let code = try bridge.waitForExit()
    return (String(decoding: output, as: UTF8.self), bridge.stderr, code)
  }

  @Test func callPrintsTheResultAndExits0() async throws {
    let health = try await run(["call", "health"])
    #expect(health.stdout == "\"OK\"\n")
    #expect(health.code == 0)
    let list = try await run(["call", "listConversations", "{}"])
    #expect(list.code == 0)
    #expect(try JSONParser.parse(list.stdout).arrayValue?.count == 1)
  }

  @Test(arguments: [
    (["call", "nope"], -32601), (["call", "health", "{"], -32700), (["call", "health", "[1]"], -32602),
    (["call", "closeConversation", #"{"conversationId":"nope"}"#], -32001),
  ])
  func callFailuresPrintTheErrorOnStderrAndExit1(_ arguments: [String], _ code: Int) async throws {
    let result = try await run(arguments)
    #expect(result.code == 1)
    #expect(result.stdout.isEmpty)
    let error = try JSONParser.parse(result.stderr.split(separator: "\n").last.map(String.init) ?? "")
    #expect(error["code"] == .int(Int64(code)))
  }

  /// Editors spawn the binary with no arguments in the workspace; that
  /// start skips ArgumentParser, so it must still be `stdio` on every
  /// default: same workspace and id, not strict, same limits.
  @Test func bareInTheWorkspaceAnswersAsStdioWithThatWorkspace() async throws {
    let workspace = BridgeProcess.makeTemporaryDirectory()
    defer { rmdir(workspace) }
    let messages = [
      #"{"jsonrpc":"2.0","id":1,"method":"health"}"#,
      #"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{}}"#,
      #"{"jsonrpc":"2.0","id":3,"method":"listConversations"}"#,
      #"{"jsonrpc":"2.0","id":4,"method":"getConfig"}"#,
      "[" + Array(repeating: Self.health, count: 1025).joined(separator: ",") + "]",
    ]
    func session(_ bridge: BridgeProcess) async throws -> (replies: [JSONValue], code: Int32, stderr: String) {
      for message in messages { bridge.client.sendRaw(message + "\n") }
      bridge.client.closeInput()
      let replies = try await bridge.client.drain()
      return (replies, try bridge.waitForExit(), bridge.stderr)
    }
    let bare = try await session(BridgeProcess(directory: workspace))
    let stdio = try await session(BridgeProcess(["stdio", "--workspace", workspace]))
    // Replies may come out of order.
    let texts = bare.replies.map(JSONWriter.string).sorted()
    #expect(texts.count == messages.count)
    #expect(texts.contains(#"{"jsonrpc":"2.0","id":1,"result":"OK"}"#))
    let list = bare.replies.first { $0["id"] == 3 }
    #expect(list?["result"]?.arrayValue?.first?["workspace"]?.stringValue == realPath(workspace))
    #expect(bare.replies.contains { $0["error"]?["code"] == -32600 })
    #expect(texts == stdio.replies.map(JSONWriter.string).sorted())
    #expect(bare.code == 0 && stdio.code == 0)
    #expect(bare.stderr == stdio.stderr)
  }

  @Test func versionNamesTheNativeLibraries() async throws {
    let result = try await run(["--version"])
    #expect(result.code == 0)
    #expect(result.stdout.hasPrefix("agent-bridge "))
    #expect(result.stdout.contains("libgit2 1."))
    #expect(result.stdout.contains("zlib 1."))
  }

  @Test func helpExplainsTheCommands() async throws {
    let result = try await run(["--help"])
    #expect(result.code == 0)
    for word in ["stdio", "call", "openrpc", "--version"] { #expect(result.stdout.contains(word), "\(word)") }
  }

  @Test func aMissingWorkspaceIsAClearStartupError() async throws {
    let result = try await run(["--workspace", "/nonexistent/dir"])
    #expect(result.code != 0)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.contains("/nonexistent/dir"))
  }
}

func realPath(_ path: String) -> String? {
  guard let resolved = realpath(path, nil) else { return nil }
  defer { free(resolved) }
  return String(cString: resolved)
}

func percentEncoded(_ path: String) -> String {
  var out = ""
  for byte in path.utf8 {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
      UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
      out.append(Character(Unicode.Scalar(byte)))
    default:
      out += "%" + String(byte, radix: 16, uppercase: true)
    }
  }
  return out
}
