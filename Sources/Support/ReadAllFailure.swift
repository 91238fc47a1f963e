/// Why `FileDescriptor.readAll` gave up.
public enum ReadAllFailure: Error, Sendable, Equatable {
  /// The file holds more than the limit: `size` is how much had been read
  /// when that was clear (at least the limit plus one).
  case tooLarge(size: Int)
  /// read(2) failed with this `errno`.
  case failed(errno: Int32)

  /// As an `errno`, for callers that report one (too large is `EFBIG`).
  public var code: Int32 {
    switch self {
    case .tooLarge: EFBIG
    case .failed(let code): code
    }
  }
}
