import Testing
import Support

@Suite struct SHA256Tests {
  @Test func knownVectors() {
    #expect(SHA256.hex(SHA256.hash(Array("".utf8))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
    #expect(SHA256.hex(SHA256.hash(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test func incrementalMatchesOneShot() {
    let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    var hasher = SHA256()
    var offset = 0
    for size in [1, 63, 64, 65, 127, 1000, 3] + Array(repeating: 500, count: 20) where offset < data.count {
      let end = min(data.count, offset + size)
      hasher.update(data[offset..<end])
      offset = end
    }
    hasher.update(data[offset...])
    #expect(hasher.finalize() == SHA256.hash(data))
  }
}
