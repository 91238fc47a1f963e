import Testing

@testable import HTTPAdapter

@Suite struct StreamHandoffTests {
  @Test func chunksArriveInOrderAndTheProducerWaitsForEach() async throws {
    let handoff = StreamHandoff()
    let producer = Task {
      for index in 0..<50 { try await handoff.write([UInt8(index), 1, 2]) }
      handoff.finish()
    }
    var received: [[UInt8]] = []
    while case .chunk(let bytes) = await handoff.next() { received.append(bytes) }
    try await producer.value
    #expect(received.count == 50)
    #expect(received.map { $0[0] } == (0..<50).map { UInt8($0) })
  }

  @Test func cancellingFailsThePendingAndLaterWrites() async throws {
    let handoff = StreamHandoff()
    let producer = Task { () -> Int in
      var written = 0
      do {
        while true {
          try await handoff.write([1])
          written += 1
        }
      } catch is CancellationError {
        return written
      }
    }
    #expect(await handoff.next().isChunk)
    handoff.cancel()
    let written = try await producer.value
    // One chunk taken, the next one refused: nothing piles up.
    #expect(written <= 2)
    await #expect(throws: CancellationError.self) { try await handoff.write([2]) }
    #expect(await handoff.next().isChunk == false)
  }
}

extension StreamHandoff.Event {
  var isChunk: Bool { if case .chunk = self { true } else { false } }
}
