import Foundation
import Hummingbird
@testable import HTTPAdapter
import JSONRPC
import Testing

/// selectFile's text over HTTP is escaped into the buffer the body is sent
/// from: the same bytes as the writer makes, without a copy in between.
@Suite struct LentReplyTests {
  static func escapeHeavy(lines: Int) -> [UInt8] {
    var text = ""
    for index in 0..<lines {
      text += "\t\tname\(index) = \"value\\n\" // é \(index % 7 == 0 ? "\r\n" : "\n")"
    }
    return Array(text.utf8)
  }

  @Test func theBodySendsTheLentBufferItself() throws {
    let text = Self.escapeHeavy(lines: 2_000)
    let code = try #require(EncodedString(validating: text, foldingLineEnds: true, lender: ByteBufferLender()))
    let lent = try #require(code.lent as? LentByteBuffer)
    let buffers = JSONResponse.buffers(["code": .encodedString(code), "after": true])
    #expect(buffers.count == 3)
    let sent = buffers[1].withUnsafeReadableBytes { $0.baseAddress }
    #expect(sent != nil && sent == lent.buffer.withUnsafeReadableBytes { $0.baseAddress })
    let body = buffers.flatMap { Array($0.readableBytesView) }
    let folded = String(decoding: text, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    let same = body == JSONWriter.encode(["code": .string(folded), "after": true])
    #expect(same)
  }

  /// Through a real server: the REST route and a JSON-RPC batch, escape-
  /// heavy text, and text of escapes only, which outgrows the first room.
  /// (Equality as one Bool: a failed comparison of megabyte arrays would
  /// spend minutes describing the difference.)
  @Test func selectFileBodiesAreTheWritersBytes() async throws {
    let root = try TemporaryDirectory.make("lent-ws")
    let heavy = Self.escapeHeavy(lines: 20_000)
    let control = Array(String(repeating: "\"\\\t", count: 30_000).utf8) + Array("tail\r".utf8)
    try Data(heavy).write(to: URL(fileURLWithPath: root + "/heavy.txt"))
    try Data(control).write(to: URL(fileURLWithPath: root + "/control.txt"))
    func folded(_ bytes: [UInt8]) -> String {
      String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        .replacingOccurrences(of: "\r", with: "\n")
    }
    try await withServer(workspace: root) { server in
      for (name, bytes) in [("heavy.txt", heavy), ("control.txt", control)] {
        let reply = try await server.get(server.conversationPath("select-file?file=\(name)"))
        #expect(reply.status == 200)
        let same = reply.body == JSONWriter.encode(["code": .string(folded(bytes))])
        #expect(same, "\(name): \(reply.body.count) bytes")
        #expect(reply.header("Content-Length") == String(reply.body.count))
      }
      let batch = try await server.post(
        "/api/jsonrpc",
        json: #"[{"jsonrpc":"2.0","id":1,"method":"selectFile","params":{"file":"heavy.txt"}},"#
          + #"{"jsonrpc":"2.0","id":2,"method":"selectFile","params":{"file":"control.txt"}}]"#)
      #expect(batch.status == 200)
      let expected: JSONValue = [
        ["jsonrpc": "2.0", "id": 1, "result": ["code": .string(folded(heavy))]],
        ["jsonrpc": "2.0", "id": 2, "result": ["code": .string(folded(control))]],
      ]
      let same = batch.body == JSONWriter.encode(expected)
      #expect(same, "batch: \(batch.body.count) bytes")
    }
  }
}
