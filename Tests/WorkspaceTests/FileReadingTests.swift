import Foundation
import Testing
import Workspace

@Suite struct FileReadingTests {
  func read(_ tree: TempTree, _ path: String, max: Int = 1 << 20) -> Result<String, ReadError> {
    FileReading.read(root: tree.root, path: path, maxBytes: max)
  }

  @Test func newlinesBecomeLFAndABOMIsKept() throws {
    let tree = try TempTree()
    try tree.write("crlf.txt", "a\r\nb\rc\n\r\n")
    try tree.write("bom.txt", [0xEF, 0xBB, 0xBF] + Array("hi\r\n".utf8))
    #expect(read(tree, "crlf.txt") == .success("a\nb\nc\n\n"))
    #expect(read(tree, "bom.txt") == .success("\u{FEFF}hi\n"))
    try tree.write("empty.txt", "")
    #expect(read(tree, "empty.txt") == .success(""))
  }

  @Test func mediaExtensionsComeBackAsDataURLsInAnyCase() throws {
    let tree = try TempTree()
    let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D]
    try tree.write("pic.PNG", png)
    try tree.write("doc.pdf", "%PDF-1.4\n")
    try tree.write("v.webm", [0x1A, 0x45, 0xDF, 0xA3])
    #expect(read(tree, "pic.PNG") == .success("data:image/png;base64,iVBORw0KGgoAAAAN"))
    #expect(read(tree, "doc.pdf") == .success("data:application/pdf;base64,JVBERi0xLjQK"))
    #expect(read(tree, "v.webm") == .success("data:video/webm;base64,GkXfow=="))
    for (name, mime) in [("a.jpg", "image/jpeg"), ("a.JPEG", "image/jpeg"), ("a.bmp", "image/bmp"), ("a.gif", "image/gif"),
      ("a.mp4", "video/mp4"), ("a.ogg", "video/ogg")]
    {
      try tree.write(name, [0])
      #expect(read(tree, name) == .success("data:\(mime);base64,AA=="))
    }
  }

  @Test func binaryByNulOrControlRatio() throws {
    let tree = try TempTree()
    try tree.write("nul.txt", Array("text".utf8) + [0] + Array("more".utf8))
    try tree.write("controls.bin", [UInt8](repeating: 0x01, count: 40) + Array(repeating: 0x41, count: 60))
    try tree.write("fewcontrols.txt", [UInt8](repeating: 0x01, count: 20) + Array(repeating: 0x41, count: 80))
    try tree.write("escapes.txt", [UInt8](repeating: 0x1B, count: 50) + [0x08, 0x09, 0x0C, 0x0A] + Array("x".utf8))
    #expect(read(tree, "nul.txt") == .failure(.binary))
    #expect(read(tree, "controls.bin") == .failure(.binary))
    #expect(read(tree, "fewcontrols.txt") == .success(String(repeating: "\u{01}", count: 20) + String(repeating: "A", count: 80)))
    #expect((try? read(tree, "escapes.txt").get())?.hasSuffix("x") == true)
  }

  @Test func notUTF8() throws {
    let tree = try TempTree()
    try tree.write("latin1.txt", Array("caf".utf8) + [0xE9, 0x0A])
    try tree.write("utf16.txt", [0xFF, 0xFE, 0x68, 0x00])
    #expect(read(tree, "latin1.txt") == .failure(.notUTF8))
    // UTF-16 carries NUL bytes: binary by the contract's rule.
    #expect(read(tree, "utf16.txt") == .failure(.binary))
    try tree.write("utf8.txt", "caf\u{E9} \u{1F600}")
    #expect(read(tree, "utf8.txt") == .success("caf\u{E9} \u{1F600}"))
  }

  @Test func sizeLimit() throws {
    let tree = try TempTree()
    try tree.write("big.txt", String(repeating: "x", count: 1001))
    #expect(read(tree, "big.txt", max: 1000) == .failure(.tooLarge(size: 1001, limit: 1000)))
    #expect((try? read(tree, "big.txt", max: 1001).get())?.count == 1001)
  }

  @Test func directoriesMissingAndSpecialFiles() async throws {
    let tree = try TempTree()
    try tree.mkdir("dir")
    try tree.fifo("pipe")
    #expect(read(tree, "dir") == .failure(.isDirectory))
    #expect(read(tree, "") == .failure(.isDirectory))
    #expect(read(tree, "missing.txt") == .failure(.notFound))
    #expect(read(tree, "dir/missing.txt") == .failure(.notFound))
    // A FIFO with no writer must not hang the read.
    #expect(read(tree, "pipe") == .failure(.notRegularFile))
    // A symlink to a FIFO neither.
    try tree.symlink("pipelink", to: "pipe")
    #expect(read(tree, "pipelink") == .failure(.notRegularFile))
    #expect(read(tree, "/dev/null") == .failure(.outsideWorkspace))
    // A socket.
    let socketPath = tree.path + "/sock"
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in socketPath.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
    }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(bound == 0)
    #expect(read(tree, "sock") == .failure(.notRegularFile))
  }
}
