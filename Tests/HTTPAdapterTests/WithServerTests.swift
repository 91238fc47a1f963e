#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// `withServer` is every HTTP test's lifetime: the server must be gone,
/// its port closed, by the time it returns or throws, so no test leaves
/// one running into the next.
@Suite struct WithServerTests {
  struct Planned: Error {}

  @Test func theServerHasStoppedWhenTheBodyReturns() async throws {
    var port = 0
    try await withServer { (server) async throws in
      port = server.port
      #expect(try await server.get("/health").status == 200)
    }
    #expect(Self.refuses(port))
  }

  @Test func theServerHasStoppedWhenTheBodyThrows() async throws {
    var port = 0
    await #expect(throws: Planned.self) {
      try await withServer { server in
        port = server.port
        throw Planned()
      }
    }
    #expect(port > 0 && Self.refuses(port))
  }

  static func refuses(_ port: Int) -> Bool {
    guard let fd = try? RawHTTP.connect(port: port) else { return true }
    close(fd)
    return false
  }
}
