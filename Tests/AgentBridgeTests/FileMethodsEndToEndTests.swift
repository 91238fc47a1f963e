import Foundation
import TestSupport
import JSONRPC
import Testing

/// listFiles, selectFile and zipDirectory through the built binary: a stdio
/// session over real pipes and one-shot `agent-bridge call`.
@Suite struct FileMethodsEndToEndTests {
  static let binary: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path + "/.build/debug/agent-bridge"
  }()

  static func workspace() throws -> String {
    let path = NSTemporaryDirectory() + "e2e-files-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path + "/src", withIntermediateDirectories: true)
    try Data("one\r\ntwo\n".utf8).write(to: URL(fileURLWithPath: path + "/src/a.txt"))
    try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/b.txt"))
    return path
  }

  static func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, out: Data, err: Data) {
    let result = try Program.run(binary, arguments, input: stdin)
    return (result.status, result.stdout, result.stderr)
  }

  @Test func callPrintsResultsAndErrors() throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the package first")
    let ws = try Self.workspace()
    defer { try? FileManager.default.removeItem(atPath: ws) }
    let listed = try Self.run(["call", "--workspace", ws, "listFiles"])
    #expect(listed.status == 0)
    #expect(String(decoding: listed.out, as: UTF8.self) == "[\"src/\",\"b.txt\"]\n")
    let read = try Self.run(["call", "--workspace", ws, "selectFile", "{\"file\":\"src/a.txt\"}"])
    #expect(String(decoding: read.out, as: UTF8.self) == "{\"code\":\"one\\ntwo\\n\"}\n")
    let outside = try Self.run(["call", "--workspace", ws, "selectFile", "{\"file\":\"../etc/passwd\"}"])
    #expect(outside.status == 1)
    #expect(outside.out.isEmpty)
    let error = try JSONParser.parse([UInt8](outside.err.split(separator: 0x0A).first ?? Data()))
    #expect(error["code"] == .int(-32014))
  }

  @Test func stdioSessionServesAllThree() throws {
    try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the package first")
    let ws = try Self.workspace()
    defer { try? FileManager.default.removeItem(atPath: ws) }
    let lines = [
      #"{"jsonrpc":"2.0","id":1,"method":"listFiles","params":{"recursive":true}}"#,
      #"{"jsonrpc":"2.0","id":2,"method":"selectFile","params":{"file":"b.txt"}}"#,
      #"{"jsonrpc":"2.0","id":3,"method":"zipDirectory","params":{"compression":"store"}}"#,
    ]
    let session = try Self.run(["--workspace", ws], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
    #expect(session.status == 0)
    var results: [Int64: JSONValue] = [:]
    for line in session.out.split(separator: 0x0A) {
      let reply = try JSONParser.parse([UInt8](line))
      if case .int(let id)? = reply["id"] { results[id] = reply["result"] }
    }
    #expect(results[1] == ["b.txt", "src/a.txt"])
    #expect(results[2] == ["code": "x"])
    #expect(results[3]?["entries"] == .int(2))
  }
}
