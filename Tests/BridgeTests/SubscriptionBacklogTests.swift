#if canImport(Glibc)
import Glibc
#endif
import Bridge
import Foundation
import JSONRPC
import Testing

/// A subscriber whose client stops reading is dropped once its unread
/// output passes the limit, and its watcher stops: memory does not grow
/// with the changes it is not reading.
@Suite struct SubscriptionBacklogTests {
  @Test func aClientThatStopsReadingIsDropped() throws {
    signal(SIGPIPE, SIG_IGN)
    let directory = TemporaryDirectory("backlog")
    let workspace = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
    var options = BridgeOptions(workspace: workspace)
    options.stateDirectory = directory.path + "/state"
    options.maxSubscriberBacklogBytes = 64 << 10
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

    let subscribe = Array(#"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["files"]}}"#.utf8) + [10]
    #expect(write(input[1], subscribe, subscribe.count) == subscribe.count)
    let deadline = Date().addingTimeInterval(5)
    while dispatcher.subscriptions.count == 0 && Date() < deadline { usleep(10_000) }
    #expect(dispatcher.subscriptions.count == 1)

    // Nobody reads `output`: 64 KiB fill the pipe, the rest is backlog.
    let long = String(repeating: "n", count: 150)
    var round = 0
    while dispatcher.subscriptions.count == 1 && round < 40 {
      try FileManager.default.createDirectory(atPath: workspace + "/r\(round)", withIntermediateDirectories: true)
      for file in 0..<200 {
        _ = FileManager.default.createFile(atPath: workspace + "/r\(round)/\(long)\(file)", contents: nil)
      }
      round += 1
      usleep(100_000)
    }
    #expect(dispatcher.subscriptions.count == 0, "still subscribed after \(round) rounds")
    #expect(dispatcher.subscriptions.watchState(conversationId: dispatcher.conversations.defaultConversation.id) == nil)

    // Let the connection finish: the client goes away.
    close(output[0])
    close(input[1])
    #expect(finished.wait(timeout: .now() + 5) == .success)
    close(input[0])
    close(output[1])
  }
}
