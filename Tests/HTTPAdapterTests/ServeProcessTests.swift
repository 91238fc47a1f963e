#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing

/// `agent-bridge serve` as a real process: what it refuses at start, and
/// how it stops.
@Suite struct ServeProcessTests {
  /// The built `agent-bridge`, next to the test bundle or in .build/debug.
  static var binary: String? {
    var candidates: [String] = []
    if let first = CommandLine.arguments.first {
      var url = URL(fileURLWithPath: first).deletingLastPathComponent()
      // macOS runs tests from inside an .xctest bundle.
      while url.path.contains(".xctest") { url.deleteLastPathComponent() }
      candidates.append(url.appendingPathComponent("agent-bridge").path)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/agent-bridge").path)
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  @Test func refusesANonLoopbackBindWithoutAKey() throws {
    let binary = try #require(Self.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-refuse")
    var environment = ProcessInfo.processInfo.environment
    environment["AGENT_BRIDGE_API_KEY"] = nil
    let (status, output) = try runProcess(
      binary, ["serve", "--workspace", workspace, "--host", "0.0.0.0", "--port", "0"], environment: environment)
    #expect(status != 0)
    #expect(output.contains("without an API key"))
    #expect(output.contains("--api-key"))
  }

  @Test func keyFromTheEnvironmentIsRequired() async throws {
    let binary = try #require(Self.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-env")
    var environment = ProcessInfo.processInfo.environment
    environment["AGENT_BRIDGE_API_KEY"] = "from-env"
    let serve = try ServeProcess(binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0"], environment: environment)
    defer { serve.kill() }
    let port = try await serve.port()
    let call = Array(#"{"jsonrpc":"2.0","id":1,"method":"health"}"#.utf8)
    let refused = try await RawHTTP.request(
      port: port, method: "POST", target: "/api/jsonrpc", headers: [], host: "127.0.0.1", body: call)
    #expect(refused.status == 401)
    let accepted = try await RawHTTP.request(
      port: port, method: "POST", target: "/api/jsonrpc",
      headers: [("X-Session-API-Key", "from-env"), ("Content-Type", "application/json")],
      host: "127.0.0.1", body: call)
    #expect(accepted.status == 200)
  }

  /// SIGTERM while a request is still arriving: the request is answered,
  /// then the process exits 0; new connections are no longer accepted.
  @Test(arguments: [SIGTERM, SIGINT])
  func signalDrainsInFlightRequestsThenExitsZero(signal: Int32) async throws {
    let binary = try #require(Self.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-drain")
    let serve = try ServeProcess(binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0"])
    defer { serve.kill() }
    let port = try await serve.port()

    let body = Array(#"{"jsonrpc":"2.0","id":7,"method":"health"}"#.utf8)
    let head = Array(
      ("POST /api/jsonrpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n").utf8)
    // Send the head and half the body, signal, then the rest.
    let raw = try await RawHTTP.onThread { () throws -> [UInt8] in
      let fd = try RawHTTP.connect(port: port)
      defer { close(fd) }
      let first = head + body[..<(body.count / 2)]
      _ = first.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      usleep(300_000)
      serve.signal(signal)
      usleep(500_000)
      let rest = Array(body[(body.count / 2)...])
      _ = rest.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      var received: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { break }
        received.append(contentsOf: buffer[0..<n])
      }
      return received
    }
    let reply = try RawHTTP.parse(raw)
    #expect(reply.status == 200)
    #expect(reply.json?["id"] == 7)
    let status = try await serve.waitForExit(timeout: .seconds(10))
    #expect(status == 0)
    #expect(throws: (any Error).self) { try RawHTTP.connect(port: port) }
  }
  /// SIGTERM while a download is held open by a client that stopped
  /// reading (a request that never ends by itself): the process still
  /// exits 0 within 5 s.
  @Test func signalEndsARequestThatNeverFinishesWithinFiveSeconds() async throws {
    let binary = try #require(Self.binary, "agent-bridge is not built")
    let workspace = try TemporaryDirectory.make("serve-stuck")
    _ = FileManager.default.createFile(atPath: workspace + "/big.bin", contents: nil)
    try FileHandle(forWritingTo: URL(fileURLWithPath: workspace + "/big.bin")).truncate(atOffset: 8 << 30)
    let serve = try ServeProcess(
      binary: binary, arguments: ["serve", "--workspace", workspace, "--port", "0", "--conversation-id", "c1"])
    defer { serve.kill() }
    let port = try await serve.port()
    let fd = try await RawHTTP.onThread { () throws -> Int32 in
      let fd = try RawHTTP.connect(port: port)
      let head = Array(
        "GET /api/conversations/c1/zip-directory?compression=store HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
      _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      var buffer = [UInt8](repeating: 0, count: 65536)
      _ = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      return fd
    }
    defer { close(fd) }
    try await Task.sleep(for: .milliseconds(300))
    let start = ContinuousClock.now
    serve.signal(SIGTERM)
    let status = try await serve.waitForExit(timeout: .seconds(8))
    let took = ContinuousClock.now - start
    #expect(took < .seconds(5), "exit took \(took)")
    #expect(status == 0)
  }
}

/// A running `agent-bridge serve`, its stderr collected to learn the port.
final class ServeProcess: Sendable {
  private let process: Process
  private let stderr = Collected()

  final class Collected: Sendable {
    let bytes = Mutex<[UInt8]>([])
  }

  init(binary: String, arguments: [String], environment: [String: String]? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = FileHandle.nullDevice
    self.process = process
    let collected = stderr
    pipe.fileHandleForReading.readabilityHandler = { handle in
      let data = handle.availableData
      if data.isEmpty {
        handle.readabilityHandler = nil
        return
      }
      collected.bytes.withLock { $0.append(contentsOf: data) }
    }
    try process.run()
  }

  var output: String { stderr.bytes.withLock { String(decoding: $0, as: UTF8.self) } }

  /// The port from the `docs: http://host:port/docs` line.
  func port() async throws -> Int {
    for _ in 0..<200 {
      if let range = output.range(of: #"docs: http://[^ ]+:(\d+)/docs"#, options: .regularExpression) {
        let line = output[range]
        let digits = line.split(separator: ":").last!.prefix { $0.isNumber }
        if let port = Int(digits) { return port }
      }
      if !process.isRunning { throw TestFailure("serve exited: \(output)") }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("serve did not report a port: \(output)")
  }

  func signal(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

  /// The process's peak resident memory so far (VmHWM), in KiB.
  func peakKiB() throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
      // "VmHWM:\t  1234 kB": a tab, then spaces.
      if let kib = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap({ Int($0) }) {
        return kib
      }
    }
    throw TestFailure("no VmHWM in /proc/\(process.processIdentifier)/status")
  }

  /// CPU time the process has used so far (user + system), in seconds.
  func cpuSeconds() throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
    // Fields after the command name, which ends with the last ')'.
    let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
    let ticks = Double(fields[11])! + Double(fields[12])!
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
  }

  func waitForExit(timeout: Duration) async throws -> Int32 {
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
      if ContinuousClock.now > deadline { throw TestFailure("serve did not exit: \(output)") }
      try await Task.sleep(for: .milliseconds(20))
    }
    return process.terminationStatus
  }

  func kill() {
    if process.isRunning { process.terminate() }
  }
}
