import Bridge
import BridgeProtocol
import Foundation
import Testing

/// The registry feeds initialize's capabilities, rpc.discover, Protocol/ and
/// every HTTP route; the dispatcher must answer exactly its methods, or a
/// client is promised a method that answers -32601 (or one goes unlisted).
@Suite struct DispatcherRegistryTests {
  @Test func theDispatcherHandlesExactlyTheRegistrysMethods() throws {
    let workspace = NSTemporaryDirectory() + "dispatcher-registry-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: workspace) }
    let dispatcher = try Dispatcher(options: BridgeOptions(workspace: workspace))
    let registered = Set(Registry.requests.map { $0.method })
    #expect(dispatcher.handledMethods.subtracting(registered).isEmpty, "handled but not in the registry")
    #expect(registered.subtracting(dispatcher.handledMethods).isEmpty, "in the registry without a handler")
  }
}
