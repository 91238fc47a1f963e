import Bridge
import Foundation
import Testing

@Suite struct ConversationTests {
  @Test func stableIdIs32HexAndDependsOnThePath() {
    let a = Conversation.stableId(forWorkspace: "/work/a")
    #expect(a.count == 32)
    #expect(a.allSatisfy { "0123456789abcdef".contains($0) })
    #expect(a == Conversation.stableId(forWorkspace: "/work/a"))
    #expect(a != Conversation.stableId(forWorkspace: "/work/b"))
    // The first half of SHA-256("/work/a") as coreutils' sha256sum gives it:
    // ids are stored (feedback, editors' state) and must not change.
    #expect(a == "d7f974724669154805c7dcd4ad9230c7")
  }

  @Test func realDirectoryResolvesSymlinksAndRejectsFiles() throws {
    let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("conv-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: base.appendingPathComponent("real"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: base) }
    try FileManager.default.createSymbolicLink(
      atPath: base.appendingPathComponent("link").path, withDestinationPath: base.appendingPathComponent("real").path)
    _ = FileManager.default.createFile(atPath: base.appendingPathComponent("file").path, contents: Data())
    let real = Conversation.realDirectory(base.appendingPathComponent("link").path)
    #expect(real?.hasSuffix("/real") == true)
    #expect(Conversation.realDirectory(base.appendingPathComponent("file").path) == nil)
    #expect(Conversation.realDirectory(base.appendingPathComponent("missing").path) == nil)
  }
}
