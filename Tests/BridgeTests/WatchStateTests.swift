#if canImport(Glibc)
import Glibc
#endif
import Bridge
import Foundation
import JSONRPC
import Testing

/// The watcher's state goes on the wire: in subscribe's reply, and as
/// `workspace/watchState` when it falls back (here an overflow of the
/// kernel queue, forced by a tiny queue).
@Suite struct WatchStateTests {
  @Test func anOverflowIsToldAsWatchState() throws {
    signal(SIGPIPE, SIG_IGN)
    let directory = TemporaryDirectory("watch-state")
    let workspace = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
    var options = BridgeOptions(workspace: workspace)
    options.stateDirectory = directory.path + "/state"
    options.debounce = .milliseconds(20)
    options.watcherMaxQueuedEvents = 8
    let dispatcher = try Dispatcher(options: options)
    var input: [Int32] = [0, 0]
    var output: [Int32] = [0, 0]
    #expect(pipe(&input) == 0 && pipe(&output) == 0)
    let connection = Connection(input: input[0], writer: MessageWriter(fd: output[1]))
    let finished = DispatchSemaphore(value: 0)
    Task {
      await connection.serve(handler: dispatcher)
      finished.signal()
    }
    defer {
      close(input[1])
      _ = finished.wait(timeout: .now() + 5)
      close(output[0])
      close(input[0])
      close(output[1])
    }
    var lines = LineReader(fd: output[0])

    let subscribe = Array(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["files"]}}"#.utf8) + [10]
    #expect(write(input[1], subscribe, subscribe.count) == subscribe.count)
    let first = lines.next()
    let reply = try #require(first)
    #expect(reply["result"]?["state"] == ["mode": "watching", "overflows": 0, "notes": []])

    for file in 0..<40 { _ = FileManager.default.createFile(atPath: workspace + "/f\(file)", contents: nil) }
    var told: JSONValue?
    while told == nil, let message = lines.next() {
      if message["method"] == "workspace/watchState" { told = message["params"]?["state"] }
    }
    #expect(told?["mode"] == "watching")
    #expect(told?["overflows"] == 1)
    #expect(told?["notes"]?.arrayValue?.count == 1)
  }
}

/// Newline-delimited messages from a pipe, each within five seconds.
struct LineReader {
  let fd: Int32
  var buffer: [UInt8] = []

  mutating func next() -> JSONValue? {
    let deadline = Date().addingTimeInterval(5)
    while true {
      if let end = buffer.firstIndex(of: 10) {
        let line = Array(buffer[..<end])
        buffer.removeFirst(end + 1)
        return try? JSONParser.parse(line)
      }
      var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
      guard left > 0, poll(&ready, 1, left) > 0 else { return nil }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let count = read(fd, &chunk, chunk.count)
      guard count > 0 else { return nil }
      buffer += chunk[..<count]
    }
  }
}
