import Git
import Testing

@Suite struct LibGit2Tests {
  @Test func reportsTheLinkedVersion() {
    LibGit2.ensureInitialized()
    let parts = LibGit2.version.split(separator: ".")
    #expect(parts.count == 3)
    #expect(Int(parts[0]) ?? 0 >= 1)
  }
}
