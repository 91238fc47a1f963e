import Bridge
import BridgeProtocol
import Foundation
import JSONRPC
import Testing

/// The file methods through the dispatcher: the contract's error shapes,
/// progress, cancellation, and that nothing outside the workspace ever
/// reaches a reply.
@Suite struct FileHandlersTests {
  static let secret = "OUTSIDE-SECRET-91bd"

  final class Tree {
    let base: String
    let workspace: String
    init() throws {
      let raw = NSTemporaryDirectory() + "fh-" + UUID().uuidString
      try FileManager.default.createDirectory(atPath: raw + "/ws/src", withIntermediateDirectories: true)
      try FileManager.default.createDirectory(atPath: raw + "/outside", withIntermediateDirectories: true)
      base = URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
      workspace = base + "/ws"
    }
    deinit {
      let remove = Process()
      remove.executableURL = URL(fileURLWithPath: "/bin/rm")
      remove.arguments = ["-rf", base]
      try? remove.run()
      remove.waitUntilExit()
    }
    func write(_ path: String, _ text: String) throws {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path.hasPrefix("/") ? path : workspace + "/" + path))
    }
    func link(_ path: String, _ target: String) throws {
      try FileManager.default.createSymbolicLink(atPath: workspace + "/" + path, withDestinationPath: target)
    }
  }

  final class Notifications: NotificationSink, @unchecked Sendable {
    private let lock = NSLock()
    private var sent: [JSONValue] = []
    func notify(_ method: String, params: JSONValue) { lock.withLock { sent.append(params) } }
    var all: [JSONValue] { lock.withLock { sent } }
  }

  static func dispatcher(_ tree: Tree, configure: (inout BridgeOptions) -> Void = { _ in }) throws -> Dispatcher {
    var options = BridgeOptions(workspace: tree.workspace)
    configure(&options)
    return try Dispatcher(options: options)
  }

  static func call(_ dispatcher: Dispatcher, _ method: String, _ params: JSONValue) async -> Result<JSONValue, ResponseError> {
    await dispatcher.call(method: method, params: params)
  }

  static func error(_ result: Result<JSONValue, ResponseError>) -> ResponseError? {
    if case .failure(let error) = result { return error }
    return nil
  }

  @Test func selectFileErrorsCarryTheContractsDataAndTheClientsPath() async throws {
    let tree = try Tree()
    try tree.write("src/a.txt", "a\r\nb")
    try tree.write("latin1.txt", "")
    try Data([0x63, 0xE9]).write(to: URL(fileURLWithPath: tree.workspace + "/latin1.txt"))
    try Data([0, 1, 2]).write(to: URL(fileURLWithPath: tree.workspace + "/x.bin"))
    try tree.write("big.txt", String(repeating: "x", count: 2000))
    let bridge = try Self.dispatcher(tree) { $0.maxFileBytes = 1000 }
    #expect(try await Self.call(bridge, "selectFile", ["file": "src/a.txt"]).get() == ["code": "a\nb"])
    let cases: [(String, Int64, Int64, String)] = [
      ("src/missing.txt", -32010, 404, "File not found: src/missing.txt"),
      ("x.bin", -32011, 415, "Unable to open binary file: x.bin"),
      ("latin1.txt", -32012, 415, "File could not be decoded as utf-8: latin1.txt"),
      ("src", -32013, 400, "Path is a directory: src"),
      ("../outside/x", -32014, 403, "Path is outside the workspace: ../outside/x"),
    ]
    for (file, code, status, message) in cases {
      let error = try #require(Self.error(await Self.call(bridge, "selectFile", ["file": .string(file)])))
      #expect(error.code.rawValue == Int(code))
      #expect(error.message == message)
      #expect(error.data == ["httpStatus": .int(status), "body": ["error": .string(message)]])
      #expect(!error.message.contains(tree.workspace))
    }
    let big = try #require(Self.error(await Self.call(bridge, "selectFile", ["file": "big.txt"])))
    #expect(big.code.rawValue == -32015)
    #expect(big.data?["httpStatus"] == .int(413))
    let missing = try #require(Self.error(await Self.call(bridge, "selectFile", [:])))
    #expect(missing.code.rawValue == -32602)
  }

  @Test func zipDirectoryInlineDestinationAndParams() async throws {
    let tree = try Tree()
    try tree.write("src/a.txt", "hello")
    let bridge = try Self.dispatcher(tree)
    let inline = try await Self.call(bridge, "zipDirectory", [:]).get()
    #expect(inline["filename"] == "workspace.zip")
    #expect(inline["entries"] == .int(1))
    #expect(inline["skipped"] == .int(0))
    let data = try #require(Data(base64Encoded: inline["data"]?.stringValue ?? ""))
    #expect(inline["bytes"] == .int(Int64(data.count)))
    #expect(data.prefix(4) == Data([0x50, 0x4B, 0x03, 0x04]))

    let relative = try #require(Self.error(await Self.call(bridge, "zipDirectory", ["destination": "out.zip"])))
    #expect(relative.code.rawValue == -32602)
    let badCompression = try #require(Self.error(await Self.call(bridge, "zipDirectory", ["compression": "lzma"])))
    #expect(badCompression.code.rawValue == -32602)

    let destination = tree.base + "/outside/w.zip"
    let written = try await Self.call(bridge, "zipDirectory", ["destination": .string(destination)]).get()
    #expect(written["path"] == .string(destination))
    #expect(written["entries"] == .int(1))
    #expect(written["sha256"]?.stringValue?.count == 64)
    #expect(FileManager.default.fileExists(atPath: destination))

    let small = try Self.dispatcher(tree) { $0.maxInlineBytes = 50 }
    let tooLarge = try #require(Self.error(await Self.call(small, "zipDirectory", [:])))
    #expect(tooLarge.code.rawValue == -32015)
    #expect(tooLarge.data?["httpStatus"] == .int(413))
  }

  @Test func progressIsReportedOnTheClientsToken() async throws {
    let tree = try Tree()
    for index in 0..<1500 { try tree.write("src/f\(index).txt", "x") }
    let bridge = try Self.dispatcher(tree)
    for (method, params) in [("listFiles", ["recursive": true, "workDoneToken": "t1"] as JSONValue),
      ("zipDirectory", ["workDoneToken": "t1"] as JSONValue)]
    {
      let sink = Notifications()
      let context = RequestContext(
        request: IncomingRequest(id: .number(1), method: method, params: params), notifications: sink)
      _ = try await bridge.call(method: method, params: params, context: context).get()
      let kinds = sink.all.compactMap { $0["value"]?["kind"]?.stringValue }
      #expect(kinds.first == "begin", "\(method)")
      #expect(kinds.last == "end", "\(method)")
      #expect(sink.all.allSatisfy { $0["token"] == "t1" })
    }
  }

  @Test func cancellationAnswersMinus32800() async throws {
    let tree = try Tree()
    let text = String(repeating: "some text that compresses\n", count: 40_000)
    for index in 0..<40 { try tree.write("src/f\(index).txt", text) }
    let bridge = try Self.dispatcher(tree)
    let task = Task { await bridge.call(method: "zipDirectory", params: [:]) }
    try await Task.sleep(for: .milliseconds(20))
    task.cancel()
    #expect(Self.error(await task.value)?.code.rawValue == -32800)
  }

  /// The recursive listing walks on several threads; the cancellation the
  /// request's task sees must still stop it.
  @Test func cancellingARecursiveListingAnswersMinus32800() async throws {
    let tree = try Tree()
    for index in 0..<6000 {
      let directory = tree.workspace + "/d\(index % 60)/e\(index)"
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try tree.write(directory + "/f", "")
    }
    let bridge = try Self.dispatcher(tree)
    let task = Task { await bridge.call(method: "listFiles", params: ["recursive": true]) }
    try await Task.sleep(for: .milliseconds(10))
    task.cancel()
    #expect(Self.error(await task.value)?.code.rawValue == -32800)
    // And the next listing is whole.
    let all = try await bridge.call(method: "listFiles", params: ["recursive": true]).get()
    #expect(all.arrayValue?.count == 6000)
  }

  /// Every attack through every method: the secret never appears in any
  /// reply (JSON text, nor the bytes of an inline stored archive).
  @Test func noByteFromOutsideEverAppearsInAReply() async throws {
    let tree = try Tree()
    try tree.write(tree.base + "/outside/secret.txt", Self.secret)
    try tree.write("src/ok.txt", "inside")
    try tree.link("out-dir", "../outside")
    try tree.link("out-abs", tree.base + "/outside")
    try tree.link("out-file", "../outside/secret.txt")
    try tree.link("chain", "out-file")
    try tree.link("up", "..")
    let bridge = try Self.dispatcher(tree)
    let paths = [
      "", "../outside/secret.txt", "../outside", "/etc/passwd", tree.base + "/outside/secret.txt",
      "src/../../outside/secret.txt", "out-dir", "out-dir/secret.txt", "out-abs/secret.txt", "out-file", "chain",
      "up/outside/secret.txt", "src/../out-dir/", "..%2Foutside%2Fsecret.txt",
    ]
    var replies = 0
    for path in paths {
      let requests: [(String, JSONValue)] = [
        ("selectFile", ["file": .string(path)]),
        ("listFiles", ["path": .string(path)]),
        ("listFiles", ["path": .string(path), "recursive": true]),
        ("zipDirectory", ["path": .string(path), "compression": "store"]),
      ]
      for (method, params) in requests {
        let result = await Self.call(bridge, method, params)
        let text: String
        switch result {
        case .success(let value): text = JSONWriter.string(value)
        case .failure(let error): text = JSONWriter.string(error.json)
        }
        #expect(!text.contains(Self.secret), "\(method) \(path)")
        #expect(!text.contains("secret.txt") || text.contains("Path is outside") || text.contains("not found"))
        if case .success(let value) = result, let data = value["data"]?.stringValue {
          let archive = try #require(Data(base64Encoded: data))
          #expect(archive.range(of: Data(Self.secret.utf8)) == nil, "\(method) \(path)")
        }
        replies += 1
      }
    }
    #expect(replies == paths.count * 4)
  }
}
