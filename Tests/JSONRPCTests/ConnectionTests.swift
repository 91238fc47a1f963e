#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// A handler with methods of every speed, for driving a real `Connection`.
final class TestHandler: RequestHandler {
  let notifications = Mutex<[String]>([])

  struct Boom: Error {}

  func route(_ request: IncomingRequest) -> Handling {
    switch request.method {
    case "echo": .answer(.success(request.params ?? .null))
    case "null": .answer(.success(.null))
    case "fast": .run { _ in "fast" }
    case "sleepy":
      .run { _ in
        try await Task.sleep(for: .milliseconds(100))
        return "slept"
      }
    case "slow":
      .run { _ in
        try await Task.sleep(for: .seconds(60))
        return "slow"
      }
    case "stubborn":
      // Ignores cancellation and finishes its work anyway.
      .run { _ in
        usleep(300_000)
        return "done"
      }
    case "fail": .run { _ in throw ResponseError(code: .invalidParams, message: "bad params") }
    case "crash": .run { _ in throw Boom() }
    case "progress":
      .run { context in
        let progress = context.workDoneProgress(title: "Working")
        progress?.report(message: "half", percentage: 50, force: true)
        progress?.end(message: "done")
        return "progressed"
      }
    default: .answer(.failure(ProtocolErrors.plain.methodNotFound(request.method)))
    }
  }

  func notify(method: String, params: JSONValue?) {
    notifications.withLock { $0.append(method) }
  }
}

/// A `Connection` on its own thread between two real pipes.
final class Harness: @unchecked Sendable {
  let client: WireClient
  let handler = TestHandler()
  let finished = DispatchSemaphore(value: 0)
  private let serverOutput: Int32

  init(options: Connection.Options = Connection.Options()) {
    let toServer = RawPipe()
    let toClient = RawPipe()
    client = WireClient(writingTo: toServer.writeEnd, readingFrom: toClient.readEnd, timeout: .seconds(10))
    serverOutput = toClient.writeEnd
    let connection = Connection(input: toServer.readEnd, writer: MessageWriter(fd: toClient.writeEnd), options: options)
    let handler = handler
    let finished = finished
    let input = toServer.readEnd
    let output = toClient.writeEnd
    Task {
      await connection.serve(handler: handler)
      close(input)
      close(output)
      finished.signal()
    }
  }

  private var joined = false

  deinit {
    client.closeInput()
    if !joined { _ = finished.wait(timeout: .now() + 10) }
    close(client.output)
  }

  func request(_ id: JSONValue, _ method: String, params: JSONValue? = nil, framing: Framing = .ndjson) {
    var message: JSONObject = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
    if let params { message["params"] = params }
    client.send(.object(message), framing: framing)
  }

  func cancel(_ id: JSONValue, framing: Framing = .ndjson) {
    client.send(["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": id]], framing: framing)
  }

  /// Closes the input and reads everything up to end of output.
  func finish() async throws -> [JSONValue] {
    client.closeInput()
    let rest = try await client.drain()
    #expect(finished.wait(timeout: .now() + 10) == .success, "run() did not return after end of input")
    joined = true
    return rest
  }
}

/// Tasks started so far, shared between them.
final class StartCount: Sendable {
  let value = Atomic<Int>(0)
}

@Suite struct ConnectionTests {
  /// The reader blocks in read(2) for the connection's life; on a thread of
  /// the cooperative pool (one per core) it would leave the requests' child
  /// tasks one core short: a stdio zipDirectory compressed on one core.
  @Test func aReadingConnectionLeavesEveryCooperativeThreadToTheWork() async throws {
    let h = Harness()
    h.request(1, "echo")
    #expect(try await h.client.expectMessage()["id"] == 1)
    // As many tasks as the pool has threads, each holding its thread until
    // all have started: they can only all start if none is the reader's.
    let width = ProcessInfo.processInfo.activeProcessorCount
    let started = StartCount()
    let together = await withTaskGroup(of: Bool.self) { group in
      for _ in 0..<width {
        group.addTask {
          started.value.add(1, ordering: .relaxed)
          let deadline = ContinuousClock.now + .seconds(5)
          while started.value.load(ordering: .relaxed) < width && ContinuousClock.now < deadline { usleep(1000) }
          return started.value.load(ordering: .relaxed) >= width
        }
      }
      return await group.allSatisfy { $0 }
    }
    #expect(together, "only \(started.value.load(ordering: .relaxed)) of \(width) tasks ran at once beside the reader")
    #expect(try await h.finish().isEmpty)
  }

  @Test func repliesOvertakeASlowRequestAndCancellationIsPrompt() async throws {
    let h = Harness()
    h.request(1, "slow")
    h.request(2, "fast")
    h.request(3, "echo", params: ["x": 1])
    let (byId, others) = try await h.client.replies(for: [2, 3])
    #expect(others.isEmpty)
    #expect(byId["2"]?["result"] == "fast")
    #expect(byId["3"]?["result"] == ["x": 1])
    #expect(try await h.client.isQuiet(for: .milliseconds(100)), "the slow request answered before it was cancelled")

    let clock = ContinuousClock()
    let start = clock.now
    h.cancel(1)
    let reply = try await h.client.expectMessage()
    #expect(clock.now - start < .seconds(2))
    #expect(reply["id"] == 1)
    #expect(reply["error"]?["code"] == -32800)
    #expect(try await h.finish().isEmpty)
  }

  @Test func workThatIgnoresCancellationStillAnswersCancelled() async throws {
    let h = Harness()
    h.request(5, "stubborn")
    h.cancel(5)
    let reply = try await h.client.expectMessage()
    #expect(reply["id"] == 5)
    #expect(reply["error"]?["code"] == -32800)
    // A late cancel for a finished request is a no-op.
    h.cancel(5)
    h.request(6, "echo", params: ["a": 1])
    #expect(try await h.client.expectMessage()["id"] == 6)
    #expect(try await h.finish().isEmpty)
  }

  @Test func duplicateInFlightIdIsRefusedAndTheOriginalStillAnswersOnce() async throws {
    let h = Harness()
    h.request(7, "slow")
    h.request(7, "fast")
    let duplicate = try await h.client.expectMessage()
    #expect(duplicate["id"] == 7)
    #expect(duplicate["error"]?["code"] == -32600)
    h.cancel(7)
    let cancelled = try await h.client.expectMessage()
    #expect(cancelled["id"] == 7)
    #expect(cancelled["error"]?["code"] == -32800)
    // Once answered, the id may be used again.
    h.request(7, "fast")
    #expect(try await h.client.expectMessage()["result"] == "fast")
    #expect(try await h.finish().isEmpty)
  }

  @Test func idsKeepTheirType() async throws {
    let h = Harness()
    h.request("1", "slow")
    h.request(1, "slow")  // not a duplicate: "1" is not 1
    h.request("", "echo")
    #expect(try await h.client.expectMessage()["id"] == "")
    h.cancel("1")
    h.cancel(1)
    let (byId, _) = try await h.client.replies(for: ["1", 1])
    #expect(byId[JSONValue.string("1").description]?["id"] == "1")
    #expect(byId["1"]?["id"] == 1)
    #expect(try await h.finish().isEmpty)
  }

  @Test func batches() async throws {
    let h = Harness()
    // Empty: one -32600, not an array.
    h.client.sendRaw("[]\n")
    let empty = try await h.client.expectMessage()
    #expect(empty.contains(.json(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600}}"#)))

    // Notifications only: no reply at all (the next reply is the echo's).
    h.client.sendRaw(#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]"# + "\n")
    h.request(99, "echo")
    #expect(try await h.client.expectMessage()["id"] == 99)

    // Mixed: one array with a reply per request and per invalid entry.
    h.client.sendRaw(
      #"[{"jsonrpc":"2.0","id":10,"method":"sleepy"},{"jsonrpc":"2.0","method":"c"},"#
        + #"{"jsonrpc":"2.0","id":11,"method":"echo","params":[1]},{"foo":1},5,"#
        + #"{"jsonrpc":"2.0","id":12,"method":"fail"}]"# + "\n")
    let batch = try await h.client.expectMessage()
    let replies = try #require(batch.arrayValue)
    #expect(replies.count == 5)
    let ids = replies.map { $0["id"]?.description ?? "?" }.sorted()
    #expect(ids == ["10", "11", "12", "null", "null"])
    #expect(replies.first { $0["id"] == 10 }?["result"] == "slept")
    #expect(replies.first { $0["id"] == 11 }?["result"] == [1])
    #expect(replies.first { $0["id"] == 12 }?["error"]?["code"] == -32602)
    #expect(replies.filter { $0["id"] == nil || $0["id"]!.isNull }.allSatisfy { $0["error"]?["code"] == -32600 })

    // A batch waits for its slowest member; cancelling it completes the batch.
    h.client.sendRaw(
      #"[{"jsonrpc":"2.0","id":20,"method":"slow"},{"jsonrpc":"2.0","id":21,"method":"fast"}]"# + "\n")
    #expect(try await h.client.isQuiet(for: .milliseconds(100)))
    h.cancel(20)
    let second = try #require(await h.client.expectMessage().arrayValue)
    #expect(Set(second.compactMap { $0["id"]?.intValue }) == [20, 21])
    #expect(second.first { $0["id"] == 20 }?["error"]?["code"] == -32800)
    #expect(try await h.finish().isEmpty)
    #expect(h.handler.notifications.withLock { $0 } == ["a", "b", "c"])
  }

  @Test func exactlyOneReplyEachAndEndOfInputFinishesWorkInFlight() async throws {
    let h = Harness()
    let methods = ["echo", "null", "fast", "fail", "crash", "sleepy", "nope"]
    var stream: [UInt8] = []
    for i in 0..<350 {
      let framing: Framing = i % 2 == 0 ? .lsp : .ndjson
      let message: JSONValue = ["jsonrpc": "2.0", "id": .int(Int64(i)), "method": .string(methods[i % methods.count])]
      stream += WireClient.frame(JSONWriter.encode(message), framing: framing)
      if i % 50 == 0 { stream += WireClient.frame(Array(#"{"jsonrpc":"2.0","method":"n"}"#.utf8), framing: framing) }
    }
    h.client.sendRaw(stream)
    let all = try await h.finish()
    #expect(all.count == 350)
    var seen = Set<Int64>()
    for reply in all {
      let id = try #require(reply["id"]?.intValue)
      #expect(seen.insert(id).inserted, "two replies for \(id)")
      let method = methods[Int(id) % methods.count]
      switch method {
      case "echo", "null": #expect(reply["result"] == .null)
      case "fast": #expect(reply["result"] == "fast")
      case "sleepy": #expect(reply["result"] == "slept")
      case "fail": #expect(reply["error"]?["code"] == -32602)
      case "crash": #expect(reply["error"]?["code"] == -32603)
      default: #expect(reply["error"]?["code"] == -32601)
      }
    }
    #expect(h.handler.notifications.withLock { $0.count } == 7)
  }

  @Test func repliesUseTheFramingOfTheMessageTheyAnswer() async throws {
    let h = Harness()
    h.request(1, "echo", framing: .lsp)
    #expect(try await h.client.next()?.framing == .lsp)
    h.request(2, "fast", framing: .ndjson)
    #expect(try await h.client.next()?.framing == .ndjson)
    h.client.sendRaw("Content-Length: 3\r\n\r\n{x}")
    let parseError = try #require(await h.client.next())
    #expect(parseError.framing == .lsp)
    #expect(parseError.message["error"]?["code"] == -32700)
    #expect(try await h.finish().isEmpty)
  }

  @Test func forcedFramingWritesThatFraming() async throws {
    let h = Harness(options: Connection.Options(forcedFraming: .lsp))
    h.client.sendRaw(#"{"jsonrpc":"2.0","id":1,"method":"echo"}"# + "\n")
    let error = try #require(await h.client.next())
    #expect(error.framing == .lsp)
    #expect(error.message["error"]?["code"] == -32700)
    h.request(2, "echo", framing: .lsp)
    #expect(try await h.client.next()?.message["id"] == 2)
    #expect(try await h.finish().isEmpty)
  }

  @Test func progressIsReportedOnTheClientsToken() async throws {
    let h = Harness()
    h.request(1, "progress", params: ["workDoneToken": "tok"], framing: .lsp)
    var kinds: [String] = []
    while true {
      let (message, framing) = try #require(await h.client.next())
      #expect(framing == .lsp)
      if message["id"] != nil {
        #expect(message["result"] == "progressed")
        break
      }
      #expect(message["method"] == "$/progress")
      #expect(message["params"]?["token"] == "tok")
      kinds.append(message["params"]?["value"]?["kind"]?.stringValue ?? "?")
    }
    #expect(kinds == ["begin", "report", "end"])
    // Without a token there is no progress.
    h.request(2, "progress")
    #expect(try await h.client.expectMessage()["id"] == 2)
    #expect(try await h.finish().isEmpty)
  }

  @Test func invalidRequestsAndParseErrors() async throws {
    let h = Harness()
    let cases: [(String, String)] = [
      (#"{"jsonrpc":"2.0","id":"x"}"#, #"{"id":"x","error":{"code":-32600}}"#),
      (#"{"jsonrpc":"1.0","id":1,"method":"echo"}"#, #"{"id":1,"error":{"code":-32600}}"#),
      (#"{"id":2,"method":"echo"}"#, #"{"id":2,"error":{"code":-32600}}"#),
      (#"{"jsonrpc":"2.0","id":3,"method":5}"#, #"{"id":3,"error":{"code":-32600}}"#),
      (#"{"jsonrpc":"2.0","id":4,"method":"echo","params":5}"#, #"{"id":4,"error":{"code":-32600}}"#),
      (#"{"jsonrpc":"2.0","id":null,"method":"echo"}"#, #"{"id":null,"error":{"code":-32600}}"#),
      (#"{"jsonrpc":"2.0","id":{},"method":"echo"}"#, #"{"id":null,"error":{"code":-32600}}"#),
      (#"5"#, #"{"id":null,"error":{"code":-32700}}"#),  // not `{` or `[`: not a JSON line
      (#"[5]"#, #"[{"id":null,"error":{"code":-32600}}]"#),
      (#"{"jsonrpc":"2.0","id":5,"method":"echo""#, #"{"id":null,"error":{"code":-32700}}"#),
      (#"{"jsonrpc":"2.0","id":6,"method":"echo","params":{"a":"\ud800"}}"#, #"{"id":null,"error":{"code":-32700}}"#),
      (#"{"jsonrpc":"2.0","id":7,"method":"echo"}"#, #"{"id":7,"result":null}"#),
    ]
    for (sent, expected) in cases {
      h.client.sendRaw(sent + "\n")
      let reply = try await h.client.expectMessage()
      #expect(reply.contains(.json(expected)), "\(sent) -> \(reply)")
      #expect(reply.objectValue == nil || reply["jsonrpc"] == "2.0")
    }
    // A response from the client (we never ask) gets no reply.
    h.client.sendRaw(#"{"jsonrpc":"2.0","id":9,"result":1}"# + "\n")
    #expect(try await h.client.isQuiet(for: .milliseconds(100)))
    #expect(try await h.finish().isEmpty)
  }
}
