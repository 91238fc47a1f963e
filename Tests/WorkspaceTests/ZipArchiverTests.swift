import Foundation
import Support
import Testing
import Workspace

/// Every archive is read back by two independent readers (Info-ZIP's
/// `unzip -t` and Python's zipfile) and compared, name by name and byte by
/// byte, with the tree it came from.
@Suite struct ZipArchiverTests {
  struct Entry: Decodable, Equatable {
    var name: String
    var sha: String
    var size: Int
    var method: Int
    var utf8: Bool
    var dir: Bool
  }

  /// Streams every entry (zipfile checks each CRC at its end) and prints
  /// name, SHA-256, size, method and the UTF-8 flag.
  static let reader = """
    import hashlib, json, sys, zipfile
    z = zipfile.ZipFile(sys.argv[1])
    out = []
    for i in z.infolist():
        h = hashlib.sha256()
        with z.open(i) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out.append({"name": i.filename, "sha": h.hexdigest(), "size": i.file_size,
            "method": i.compress_type, "utf8": bool(i.flag_bits & 0x800), "dir": i.is_dir()})
    print(json.dumps(out))
    """

  /// Both readers' view of an archive.
  static func readBack(_ archive: String) throws -> [Entry] {
    let tested = try run("/usr/bin/unzip", ["-tq", archive])
    #expect(tested.contains("No errors detected"))
    let json = try run("/usr/bin/env", ["python3", "-c", reader, archive])
    return try JSONDecoder().decode([Entry].self, from: Data(json.utf8))
  }

  /// coreutils' digest of the file: a reference independent of the bridge's.
  static func sha(_ path: String) throws -> String {
    String(try run("/usr/bin/sha256sum", [path]).prefix(64))
  }

  static func archive(_ tree: TempTree, path: String? = nil, options: ZipOptions = ZipOptions()) async throws -> (
    String, ZipSummary
  ) {
    let file = tree.outside + "/out-\(UUID().uuidString).zip"
    _ = FileManager.default.createFile(atPath: file, contents: nil)
    let handle = FileDescriptor(open(file, O_WRONLY | O_TRUNC))
    // No SHA-256 here: the readers check every byte, and in a debug build
    // hashing gigabytes would dominate the test.
    var sink = FileZipSink(descriptor: handle, hashing: false)
    let summary = try await ZipArchiver.write(root: tree.root, path: path, options: options, to: &sink)
    return (file, summary)
  }

  /// A tree with every kind of thing a workspace holds.
  static func mixedTree() throws -> TempTree {
    let tree = try TempTree()
    try tree.write("README.md", String(repeating: "# Title\nSome text here.\n", count: 200))
    try tree.write("empty.txt", "")
    try tree.write("src/main.swift", "print(\"hi\")\n")
    try tree.write("src/a-b/x.c", "int x;\n")
    try tree.write("caf\u{E9}/\u{FC}ber.txt", "unicode names\n")
    var generator = SystemRandomNumberGenerator()
    try tree.write("blob.bin", (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
    try tree.write(
      "big.txt", Array(String(repeating: "let value = compute(index) + offset // a comment\n", count: 60_000).utf8))
    try tree.write(".git/HEAD", "ref: refs/heads/main\n")
    try tree.mkdir("empty-dir")
    try tree.symlink("link-in", to: "src/main.swift")
    try tree.symlink("link-dir", to: "src")
    try tree.symlink("link-out", to: "../outside/secret")
    try tree.symlink("link-broken", to: "nope")
    try Data("SECRET".utf8).write(to: URL(fileURLWithPath: tree.outside + "/secret"))
    try tree.fifo("pipe")
    return tree
  }

  static let mixedNames = [
    ".git/HEAD", "README.md", "big.txt", "blob.bin", "caf\u{E9}/\u{FC}ber.txt", "empty.txt", "link-in",
    "src/a-b/x.c", "src/main.swift",
  ]

  func expectMatchesTree(_ entries: [Entry], _ tree: TempTree, names: [String], base: String = "") throws {
    #expect(entries.map(\.name) == names)
    #expect(!entries.contains { $0.dir })
    for entry in entries {
      #expect(entry.sha == (try Self.sha(tree.path + "/" + base + entry.name)), "\(entry.name)")
    }
  }

  @Test func deflateRoundTripsEveryKindOfFile() async throws {
    let tree = try Self.mixedTree()
    var options = ZipOptions()
    options.sliceSize = 64 << 10  // big.txt and blob.bin go in several slices
    let (file, summary) = try await Self.archive(tree, options: options)
    let entries = try Self.readBack(file)
    try expectMatchesTree(entries, tree, names: Self.mixedNames)
    #expect(summary.entries == Self.mixedNames.count)
    #expect(summary.skipped == 3)  // link-out, link-broken, pipe
    #expect(summary.bytes == UInt64(try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int))
    #expect(entries.first { $0.name == "big.txt" }?.method == 8)
    #expect(entries.first { $0.name == "caf\u{E9}/\u{FC}ber.txt" }?.utf8 == true)
    #expect(entries.first { $0.name == "README.md" }?.utf8 == false)
    // Random bytes in one slice are stored rather than grown by deflate.
    var single = ZipOptions()
    single.sliceSize = 1 << 20
    let (file2, _) = try await Self.archive(tree, options: single)
    #expect(try Self.readBack(file2).first { $0.name == "blob.bin" }?.method == 0)
  }

  @Test func storeRoundTrips() async throws {
    let tree = try Self.mixedTree()
    var options = ZipOptions()
    options.compression = .store
    options.sliceSize = 100_000
    let (file, _) = try await Self.archive(tree, options: options)
    let entries = try Self.readBack(file)
    try expectMatchesTree(entries, tree, names: Self.mixedNames)
    #expect(entries.allSatisfy { $0.method == 0 })
  }

  @Test func outputIsDeterministicWhateverTheParallelism() async throws {
    let tree = try Self.mixedTree()
    var one = ZipOptions()
    one.parallelism = 1
    one.sliceSize = 50_000
    var four = one
    four.parallelism = 4
    let (a, _) = try await Self.archive(tree, options: one)
    let (b, _) = try await Self.archive(tree, options: four)
    #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
  }

  @Test func excludePatternsAndSubdirectory() async throws {
    let tree = try TempTree()
    for name in ["top.txt", "a/top.txt", "x.log", "a/keep.log", "a/b.log", "build/o", "a/build/o", "a/c.txt",
      "docs/deep/n.md", "docs/m.md"]
    {
      try tree.write(name, name)
    }
    var options = ZipOptions()
    options.exclude = GitignorePatterns(["*.log", "!keep.log", "build/", "/top.txt", "docs/**/*.md"])
    let (file, summary) = try await Self.archive(tree, options: options)
    try expectMatchesTree(try Self.readBack(file), tree, names: ["a/c.txt", "a/keep.log", "a/top.txt"])
    #expect(summary.skipped == 0)

    let (sub, _) = try await Self.archive(tree, path: "a", options: ZipOptions())
    try expectMatchesTree(
      try Self.readBack(sub), tree, names: ["b.log", "build/o", "c.txt", "keep.log", "top.txt"], base: "a/")
  }

  @Test func badPaths() async throws {
    let tree = try TempTree()
    try tree.write("f.txt", "x")
    await #expect(throws: ZipError.notFound) { _ = try await Self.archive(tree, path: "missing") }
    await #expect(throws: ZipError.notDirectory) { _ = try await Self.archive(tree, path: "f.txt") }
    await #expect(throws: ZipError.outsideWorkspace) { _ = try await Self.archive(tree, path: "../outside") }
  }

  @Test func inlineSinkRefusesToGrowPastItsLimit() async throws {
    let tree = try TempTree()
    try tree.write("a.bin", (0..<10_000).map { _ in UInt8.random(in: 0...255) })
    var small = MemoryZipSink(limit: 5_000)
    await #expect(throws: ZipError.tooLarge(limit: 5_000)) {
      _ = try await ZipArchiver.write(root: tree.root, path: nil, options: ZipOptions(), to: &small)
    }
    var enough = MemoryZipSink(limit: 1 << 20)
    let summary = try await ZipArchiver.write(root: tree.root, path: nil, options: ZipOptions(), to: &enough)
    #expect(UInt64(enough.bytes.count) == summary.bytes)
  }

  @Test func destinationIsAtomicAndNeverIncludesItself() async throws {
    let tree = try TempTree()
    try tree.write("a.txt", "hello")
    let destination = tree.path + "/workspace.zip"
    let first = try await ZipArchiver.write(root: tree.root, path: nil, options: ZipOptions(), destination: destination)
    #expect(first.entries == 1)
    #expect(first.sha256 == (try Self.sha(destination)))
    #expect(first.bytes == UInt64(try Data(contentsOf: URL(fileURLWithPath: destination)).count))
    // Again, with the old archive in the tree: neither it nor the new one goes in.
    let second = try await ZipArchiver.write(root: tree.root, path: nil, options: ZipOptions(), destination: destination)
    try expectMatchesTree(try Self.readBack(destination), tree, names: ["a.txt"])
    #expect(second.entries == 1)
    #expect(try FileManager.default.contentsOfDirectory(atPath: tree.path).sorted() == ["a.txt", "workspace.zip"])
    await #expect(throws: ZipError.self) {
      _ = try await ZipArchiver.write(
        root: tree.root, path: nil, options: ZipOptions(), destination: tree.outside + "/no/such/dir/x.zip")
    }
  }

  @Test func cancellationLeavesNothingBehind() async throws {
    let tree = try TempTree()
    let text = Array(String(repeating: "func f() { return 42 }\n", count: 20_000).utf8)
    for index in 0..<60 { try tree.write("f\(index).txt", text) }
    let target = tree.outside + "/dest"
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    let root = tree.root
    let task = Task {
      try await ZipArchiver.write(root: root, path: nil, options: ZipOptions(), destination: target + "/w.zip")
    }
    try await Task.sleep(for: .milliseconds(30))
    task.cancel()
    await #expect(throws: CancellationError.self) { _ = try await task.value }
    #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
  }

  @Test func overSixtyFiveThousandEntriesUsesZip64() async throws {
    let tree = try TempTree()
    try run(
      "/usr/bin/env",
      ["python3", "-c", "import os\nfor d in range(66):\n os.mkdir(str(d))\n for f in range(1000): open(f'{d}/{f}', 'w').close()"],
      in: tree.path)
    var options = ZipOptions()
    options.compression = .store
    let (file, summary) = try await Self.archive(tree, options: options)
    #expect(summary.entries == 66_000)
    let entries = try Self.readBack(file)
    #expect(entries.count == 66_000)
    #expect(entries.first?.name == "0/0")
    #expect(entries.last?.name == "9/999")
  }

  /// Past 4 GiB (a sparse file): takes a minute, so only when asked for.
  @Test(.enabled(if: ProcessInfo.processInfo.environment["AGENT_BRIDGE_HEAVY_TESTS"] == "1"))
  func pastFourGibibytesUsesZip64() async throws {
    let tree = try TempTree()
    try tree.write("small.txt", "x")
    let big = tree.path + "/big.bin"
    _ = FileManager.default.createFile(atPath: big, contents: nil)
    #expect(truncate(big, off_t(4_400_000_000)) == 0)
    var options = ZipOptions()
    options.compression = .store
    let (file, summary) = try await Self.archive(tree, options: options)
    #expect(summary.bytes > 4_400_000_000)
    let entries = try Self.readBack(file)
    #expect(entries.map(\.name) == ["big.bin", "small.txt"])
    #expect(entries.first?.size == 4_400_000_000)
    try? FileManager.default.removeItem(atPath: file)
  }
}
