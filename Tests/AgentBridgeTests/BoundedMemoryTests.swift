import Foundation
import JSONRPC
import TestSupport
import Testing

/// CONTRACT section 8, promise 3, over stdio: a message's elements are
/// counted against `--max-batch` while it is parsed, and peak memory stays
/// under 4 times the largest accepted message plus 64 MiB, whatever the
/// message's shape. Each test runs its own process, since the peak (VmHWM)
/// is the whole process's.
@Suite struct BoundedMemoryTests {
  static let mib = 1 << 20
  static let size = 60 << 20

  /// The contract's budget for a largest message of `bytes`, in KiB.
  static func budgetKiB(_ bytes: Int) -> Int { (4 * bytes + 64 * mib) / 1024 }

  /// A JSON line of about `size` bytes (under the 64 MiB limit): `head`,
  /// `unit` repeated, `tail`, newline. Built by doubling, so a 60 MiB line
  /// costs a few copies, not millions of appends.
  static func line(_ head: String, _ unit: String, _ tail: String, size: Int = size) -> [UInt8] {
    let unit = Array(unit.utf8)
    let count = (size - head.utf8.count - tail.utf8.count - 1) / unit.count
    var repeated = unit
    repeated.reserveCapacity(count * unit.count)
    while repeated.count * 2 <= count * unit.count { repeated.append(contentsOf: repeated) }
    repeated.append(contentsOf: repeated[0..<(count * unit.count - repeated.count)])
    return Array(head.utf8) + repeated + Array(tail.utf8) + [0x0A]
  }

  static let health = #"{"jsonrpc":"2.0","id":2,"method":"health"}"# + "\n"

  /// Sends `line`, expects one reply, checks the session goes on and the
  /// peak stayed within the budget for `line`.
  static func send(_ line: [UInt8]) async throws -> JSONValue {
    let bridge = try BridgeProcess(timeout: .seconds(60))
    bridge.client.sendRaw(line)
    let reply = try await bridge.client.expectMessage()
    bridge.client.sendRaw(health)
    #expect(try await bridge.client.expectMessage()["result"] == "OK")
    let peakKiB = try #require(bridge.procStatusKiB("VmHWM"))
    #expect(
      peakKiB < budgetKiB(line.count),
      "peak RSS \(peakKiB / 1024) MiB for a \(line.count / mib) MiB message; the budget is \(budgetKiB(line.count) / 1024) MiB")
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
    return reply
  }

  /// `[0,0,0,...]`: 31 million batch elements once, 5.6 GB; now refused
  /// at element 1025, before the others exist.
  @Test func aSixtyMiBBatchOfZerosIsRefusedAsOneErrorWithinTheBudget() async throws {
    let reply = try await Self.send(Self.line("[", "0,", "0]"))
    #expect(reply.arrayValue == nil)
    #expect(reply["id"] == .null)
    #expect(reply["error"]?["code"] == -32600)
    let message = reply["error"]?["message"]?.stringValue ?? ""
    #expect(message.contains("more than 1024 messages") && message.contains("--max-batch"), "\(message)")
  }

  /// One request whose params hold millions of tiny values: as a tree it
  /// would take 5 to 40 times its size, so it is refused as it is parsed.
  @Test(arguments: ["0,", "[0],", #"{"a":0},"#, #""abcdefghijklmnopq","#])
  func aSixtyMiBRequestOfTinyValuesIsRefusedWithinTheBudget(unit: String) async throws {
    let head = #"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":["#
    let reply = try await Self.send(Self.line(head, unit, "0]}}"))
    #expect(reply["id"] == .null)
    #expect(reply["error"]?["code"] == -32600)
    let message = reply["error"]?["message"]?.stringValue ?? ""
    #expect(message.contains("of memory once parsed"), "\(message)")
  }

  /// What real messages carry in bulk, strings, is accepted at any size
  /// under the limit, within the budget.
  @Test func aSixtyMiBStringRequestIsAnsweredWithinTheBudget() async throws {
    let head = #"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":""#
    let reply = try await Self.send(Self.line(head, "x", #""}}"#))
    #expect(reply["id"] == 1)
    #expect(reply["result"] == "OK")
  }

  /// A batch at the limit of requests each carrying a string is served.
  @Test func aBatchAtTheLimitOfBulkyRequestsIsServedWithinTheBudget() async throws {
    let element = #"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":""# + String(repeating: "x", count: 50_000)
      + #""}}"#
    let line = Array(("[" + Array(repeating: element, count: 1024).joined(separator: ",") + "]\n").utf8)
    let reply = try await Self.send(line)
    #expect(reply.arrayValue?.count == 1024)
  }

  /// A workspace of `files` files of 1 MiB of random bytes (so that the
  /// archive is as large as the files).
  static func randomWorkspace(files: Int) throws -> String {
    let directory = BridgeProcess.makeTemporaryDirectory()
    let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    defer { try? random.close() }
    for index in 0..<files {
      let bytes = try #require(try random.read(upToCount: 1 << 20))
      try bytes.write(to: URL(fileURLWithPath: "\(directory)/file\(index).bin"))
    }
    return directory
  }

  /// A batch's results are all held until the batch is answered: a batch of
  /// inline archives gets one archive's `--max-inline-bytes` together (the
  /// first one built takes it, the others are -32015 and say why), and they
  /// are built one at a time. Once, every archive of the batch was built at
  /// once and the reply held them all.
  @Test func aBatchOfInlineArchivesSharesOneArchivesAllowance() async throws {
    let workspace = try Self.randomWorkspace(files: 3)
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    let bridge = try BridgeProcess(["--max-inline-bytes", "\(4 << 20)"], directory: workspace, timeout: .seconds(120))
    let elements = (1...8).map {
      #"{"jsonrpc":"2.0","id":\#($0),"method":"zipDirectory","params":{"compression":"store"}}"#
    }
    let line = "[" + elements.joined(separator: ",") + "]\n"
    bridge.client.sendRaw(line)
    let reply = try await bridge.client.expectMessage()
    let results = try #require(reply.arrayValue)
    #expect(results.count == 8)
    let built = results.filter { $0["result"]?["data"]?.stringValue != nil }
    #expect(built.count == 1)
    #expect(built.first?["result"]?["entries"] == 3)
    let refused = results.filter { $0["error"] != nil }
    #expect(refused.count == 7)
    for error in refused {
      #expect(error["error"]?["code"] == -32015)
      let message = error["error"]?["message"]?.stringValue ?? ""
      #expect(message.contains("other archives of this batch"), "\(message)")
    }
    // The request is small: the budget is the reply's (4 MiB of base64).
    let replyBytes = JSONWriter.encode(reply).count
    let peakKiB = try #require(bridge.procStatusKiB("VmHWM"))
    #expect(
      peakKiB < Self.budgetKiB(replyBytes),
      "peak RSS \(peakKiB / 1024) MiB for a \(replyBytes / Self.mib) MiB reply; the budget is \(Self.budgetKiB(replyBytes) / 1024) MiB")
    bridge.client.closeInput()
    #expect(try bridge.waitForExit() == 0)
  }
}
