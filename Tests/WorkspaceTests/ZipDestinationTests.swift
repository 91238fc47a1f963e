#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Support
import Testing

@testable import Workspace

/// CONTRACT section 8, promise 5: a zip `destination` replaces only a
/// regular file or nothing. Real files, devices, FIFOs and links.
@Suite struct ZipDestinationTests {
  static func kind(_ path: String) -> mode_t? {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
  }

  static func zip(_ tree: TempTree, to destination: String) async throws -> ZipFileResult {
    try await ZipArchiver.write(root: tree.root, path: nil, options: ZipOptions(), destination: destination)
  }

  @Test func aRegularFileOrNothingIsReplaced() async throws {
    let tree = try TempTree()
    try tree.write("a.txt", "hello")
    let fresh = tree.outside + "/fresh.zip"
    _ = try await Self.zip(tree, to: fresh)
    #expect(Self.kind(fresh) == S_IFREG)
    let old = tree.outside + "/old.zip"
    try "not a zip".write(toFile: old, atomically: false, encoding: .utf8)
    let result = try await Self.zip(tree, to: old)
    #expect(Array(try Data(contentsOf: URL(fileURLWithPath: old)).prefix(2)) == [0x50, 0x4B])
    #expect(result.entries == 1)
    #expect(try FileManager.default.contentsOfDirectory(atPath: tree.outside).sorted() == ["fresh.zip", "old.zip"])
  }

  @Test func aDeviceFIFODirectoryOrSymlinkIsRefusedAndKept() async throws {
    let tree = try TempTree()
    try tree.write("a.txt", "hello")
    let device = tree.outside + "/null"
    // The same device as /dev/null (1, 3); needs CAP_MKNOD (tests run as root).
    let madeDevice = mknod(device, S_IFCHR | 0o666, (1 << 8) | 3) == 0
    let fifo = tree.outside + "/fifo"
    #expect(mkfifo(fifo, 0o600) == 0)
    let directory = tree.outside + "/dir"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    let target = tree.outside + "/precious.txt"
    try "keep me".write(toFile: target, atomically: false, encoding: .utf8)
    let link = tree.outside + "/link.zip"
    #expect(symlink(target, link) == 0)
    let dangling = tree.outside + "/dangling.zip"
    #expect(symlink(tree.outside + "/nothing-here", dangling) == 0)

    var cases: [(String, mode_t)] = [(fifo, S_IFIFO), (directory, S_IFDIR), (link, S_IFLNK), (dangling, S_IFLNK)]
    if madeDevice { cases.append((device, S_IFCHR)) }
    for (destination, kind) in cases {
      await #expect(throws: ZipError.destinationNotRegularFile, "\(destination)") {
        _ = try await Self.zip(tree, to: destination)
      }
      #expect(Self.kind(destination) == kind, "\(destination) was replaced")
    }
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
    #expect(Self.kind(tree.outside + "/nothing-here") == nil)
    // Nothing left beside them.
    let left = try FileManager.default.contentsOfDirectory(atPath: tree.outside).filter { $0.hasSuffix(".partial") }
    #expect(left.isEmpty)
  }

  /// A FIFO swapped in and out of the destination's name while archives
  /// are moved into place is never replaced: the check and the rename are
  /// one step (RENAME_EXCHANGE, then a look at what came out).
  @Test func aFIFOSwappedInDuringTheRenameIsNeverReplaced() async throws {
    let tree = try TempTree()
    try tree.write("a.txt", "hello")
    let destination = tree.outside + "/out.zip"
    let spare = tree.outside + "/spare"
    try "regular".write(toFile: destination, atomically: false, encoding: .utf8)
    #expect(mkfifo(spare, 0o600) == 0)
    var fifoInfo = stat()
    #expect(lstat(spare, &fifoInfo) == 0)
    let fifoInode = fifoInfo.st_ino
    let directory = FileDescriptor(open(tree.outside, O_RDONLY | O_DIRECTORY))
    guard TemporaryFile.rename(directory, "spare", "out.zip", flags: TemporaryFile.exchange) == 0 else {
      print("SKIPPED aFIFOSwappedInDuringTheRenameIsNeverReplaced: no RENAME_EXCHANGE here")
      return
    }
    let stop = Atomic<Bool>(false)
    let swapper = Thread {
      while !stop.load(ordering: .relaxed) {
        _ = TemporaryFile.rename(directory, "spare", "out.zip", flags: TemporaryFile.exchange)
      }
    }
    swapper.start()
    var written = 0
    var refused = 0
    for _ in 0..<1000 {
      do {
        _ = try await Self.zip(tree, to: destination)
        written += 1
      } catch ZipError.destinationNotRegularFile {
        refused += 1
      }
    }
    stop.store(true, ordering: .relaxed)
    usleep(50_000)
    let inodes = [destination, spare].compactMap { path -> ino_t? in
      var info = stat()
      return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO ? info.st_ino : nil
    }
    #expect(inodes == [fifoInode] || inodes.sorted() == [fifoInode], "the FIFO was replaced (\(inodes))")
    #expect(written + refused == 1000)
  }
}
