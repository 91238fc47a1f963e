import Foundation
import JSONRPC
import Testing

/// CONTRACT section 8, promise 3, over HTTP: `agent-bridge serve` as a real
/// process, its peak resident memory (VmHWM) against the contract's budget,
/// 4 times the largest accepted message plus 64 MiB.
@Suite struct ServeMemoryTests {
  static let mib = 1 << 20

  static func budgetKiB(_ bytes: Int) -> Int { (4 * bytes + 64 * mib) / 1024 }

  /// `head`, `unit` repeated, `tail`: about `size` bytes, built by doubling.
  static func body(_ head: String, _ unit: String, _ tail: String, size: Int = 60 << 20) -> [UInt8] {
    let unit = Array(unit.utf8)
    let count = (size - head.utf8.count - tail.utf8.count) / unit.count
    var repeated = unit
    repeated.reserveCapacity(count * unit.count)
    while repeated.count * 2 <= count * unit.count { repeated.append(contentsOf: repeated) }
    repeated.append(contentsOf: repeated[0..<(count * unit.count - repeated.count)])
    return Array(head.utf8) + repeated + Array(tail.utf8)
  }

  /// A fresh `serve` on `workspace`, one POST of `body` to `/api/jsonrpc`,
  /// the reply, and the check that the peak stayed within the budget for
  /// the largest of `body` and `largest`.
  static func post(_ body: [UInt8], workspace: String? = nil, largest: Int = 0) async throws -> JSONValue? {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try workspace ?? TemporaryDirectory.make("serve-memory")
    let serve = try ServeProcess(binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0"])
    defer { serve.kill() }
    let port = try await serve.port()
    let reply = try await RawHTTP.request(
      port: port, method: "POST", target: "/api/jsonrpc", headers: [("Content-Type", "application/json")],
      host: "127.0.0.1", body: body)
    #expect(reply.status == 200)
    let peak = try serve.peakKiB()
    let budget = budgetKiB(max(body.count, largest))
    #expect(peak < budget, "peak RSS \(peak / 1024) MiB; the budget is \(budget / 1024) MiB")
    return reply.json
  }

  /// A 60 MiB batch of zeros: 0.9 GB once, as every element became a value
  /// before the batch was counted.
  @Test func aHugeBatchIsRefusedWithinTheBudget() async throws {
    let reply = try await Self.post(Self.body("[", "0,", "0]"))
    #expect(reply?["error"]?["code"] == -32600)
    #expect(reply?["error"]?["message"]?.stringValue?.contains("--max-batch") == true)
  }

  @Test func aRequestOfManyTinyValuesIsRefusedWithinTheBudget() async throws {
    let reply = try await Self.post(
      Self.body(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":["#, "0,", "0]}}"))
    #expect(reply?["error"]?["code"] == -32600)
  }

  @Test func aLargeBodyIsAnsweredWithinTheBudget() async throws {
    let reply = try await Self.post(
      Self.body(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":""#, "x", #""}}"#))
    #expect(reply?["result"] == "OK")
  }

  /// Ten clients posting 30 MiB each at once: the bodies are taken one at a
  /// time, so memory is that of the largest (once 346 MiB for a 184 MiB
  /// budget).
  @Test func concurrentLargeBodiesStayWithinTheBudget() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-memory-bodies")
    let serve = try ServeProcess(binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0"])
    defer { serve.kill() }
    let port = try await serve.port()
    let body = Self.body(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"a":""#, "x", #""}}"#, size: 30 << 20)
    // Ten curl processes, started together: clients on their own threads in
    // this process trickled in one after another and never overlapped.
    let curl = try #require(which("curl"), "curl is needed (scripts/setup --test installs it)")
    let file = workspace + "/../body-\(getpid()).json"
    try Data(body).write(to: URL(fileURLWithPath: file))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let clients = try (0..<10).map { _ in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: curl)
      process.arguments = [
        "-s", "-H", "Content-Type: application/json", "--data-binary", "@" + file,
        "http://127.0.0.1:\(port)/api/jsonrpc",
      ]
      let output = Pipe()
      process.standardOutput = output
      try process.run()
      return (process, output)
    }
    var answered = 0
    for (process, output) in clients {
      let reply = output.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      if (try? JSONParser.parse([UInt8](reply)))?["result"] == "OK" { answered += 1 }
    }
    #expect(answered == 10)
    let peak = try serve.peakKiB()
    let budget = Self.budgetKiB(body.count)
    #expect(peak < budget, "peak RSS \(peak / 1024) MiB; the budget is \(budget / 1024) MiB")
  }

  /// Twenty clients asking at once for an inline archive of a 2 MiB
  /// workspace: the archives are built one at a time, so memory is that of
  /// one or two, not twenty (once 200 MiB and more).
  @Test func concurrentInlineArchivesAreBuiltOneAtATime() async throws {
    let binary = try #require(ServeProcessTests.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-memory-zips")
    let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    for index in 0..<2 {
      try #require(try random.read(upToCount: 1 << 20)).write(to: URL(fileURLWithPath: "\(workspace)/f\(index).bin"))
    }
    try random.close()
    let serve = try ServeProcess(binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0"])
    defer { serve.kill() }
    let port = try await serve.port()
    let body = Array(#"{"jsonrpc":"2.0","id":1,"method":"zipDirectory","params":{"compression":"store"}}"#.utf8)
    let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
      for _ in 0..<20 {
        group.addTask {
          let reply = try await RawHTTP.request(
            port: port, method: "POST", target: "/api/jsonrpc", headers: [("Content-Type", "application/json")],
            host: "127.0.0.1", body: body)
          #expect(reply.json?["result"]?["entries"] == 2)
          return reply.body.count
        }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(sizes.count == 20)
    let largest = sizes.max() ?? 0
    let peak = try serve.peakKiB()
    let budget = Self.budgetKiB(largest)
    #expect(peak < budget, "peak RSS \(peak / 1024) MiB for replies of \(largest / Self.mib) MiB; the budget is \(budget / 1024) MiB")
  }
}
