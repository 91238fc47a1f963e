import Foundation
import Support
import Testing

@Suite struct Base64Tests {
  @Test func matchesFoundation() {
    for count in 0..<20 {
      let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
      #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
    }
  }
}
