import Synchronization

/// One result per parallel slot.
final class ResultSlots<Success: Sendable>: Sendable {
  private let results: Mutex<[Result<Success, GitError>?]>

  init(count: Int) { results = Mutex(Array(repeating: nil, count: count)) }

  func store(_ slot: Int, _ work: () throws(GitError) -> Success) {
    let result = Result(catching: work)
    results.withLock { $0[slot] = result }
  }

  /// Every slot's value in slot order, or the first failure.
  func collect() throws(GitError) -> [Success] {
    let all = results.withLock { $0 }
    var values: [Success] = []
    for result in all {
      guard let result else { throw GitError(code: -1, message: "A worker did not finish") }
      values.append(try result.get())
    }
    return values
  }
}
