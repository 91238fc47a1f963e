import Support
import Testing

@Suite struct ReadAllTests {
  private static func pattern(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
  }

  /// A pipe holding `bytes`, its write end closed: read(2) sees them, then the end.
  private static func pipe(holding bytes: [UInt8]) -> FileDescriptor {
    var fds: [Int32] = [0, 0]
    #expect(Support.pipe(&fds) == 0)
    #expect(bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == bytes.count)
    close(fds[1])
    return FileDescriptor(fds[0])
  }

  @Test func readsEverythingUpToTheLimit() {
    let bytes = Self.pattern(10_000)
    #expect(Self.pipe(holding: bytes).readAll(expected: bytes.count, limit: bytes.count) == .success(bytes))
    // A wrong guess only costs buffer growth.
    #expect(Self.pipe(holding: bytes).readAll(expected: 10, limit: bytes.count) == .success(bytes))
    #expect(Self.pipe(holding: bytes).readAll() == .success(bytes))
    #expect(Self.pipe(holding: []).readAll() == .success([]))
  }

  @Test func stopsOneBytePastTheLimit() {
    let bytes = Self.pattern(20_000)
    #expect(Self.pipe(holding: bytes).readAll(expected: 100, limit: 9_999) == .failure(.tooLarge(size: 10_000)))
    // More than fstat said (a file growing while read) is still bounded.
    #expect(Self.pipe(holding: bytes).readAll(expected: 19_999, limit: 19_999) == .failure(.tooLarge(size: 20_000)))
  }

  @Test func aFailedReadCarriesItsErrno() {
    #expect(FileDescriptor.readAll(-1) == .failure(.failed(errno: EBADF)))
    #expect(ReadAllFailure.tooLarge(size: 1).code == EFBIG)
  }
}
