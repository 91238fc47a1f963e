import Support
import Testing

@Suite struct HexTests {
  @Test func everyByteIsTwoLowercaseDigitsInOrder() {
    #expect(Hex.lowercase([]) == "")
    #expect(Hex.lowercase([0x00, 0x0f, 0x10, 0xa5, 0xff]) == "000f10a5ff")
    let all = Hex.lowercase((0...255).map { UInt8($0) })
    #expect(all.count == 512)
    #expect(all.hasPrefix("000102") && all.hasSuffix("fdfeff"))
  }
}
