import Testing

@testable import Git

@Suite struct ScanMemoryTests {
  /// The few-specs byte comparison answers as the per-component lookup does.
  @Test func bytePrefixesCoverWhatComponentLookupsCover() {
    let paths = ["a", "a/", "a/b", "a/b/", "ab", "ab/c", "a/bc", "b/a", "", "é/x", "a/b/c/d.txt", "/a"]
    let specs = ["", "a", "a/b", "ab", "b", "é", "a/b/c", "a/bc/d"]
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<400 {
      let chosen = Set(specs.filter { _ in Bool.random(using: &generator) })
      let bytes = chosen.map { Array($0.utf8) }
      for path in paths {
        #expect(
          ScanMemory.isCovered(path, byAny: bytes) == ScanMemory.isCovered(path, by: chosen), "\(path) \(chosen)")
      }
    }
  }
}
