/// An owned file descriptor, closed when the last reference goes.
public final class FileDescriptor: Sendable {
  public let raw: Int32
  public init(_ raw: Int32) { self.raw = raw }
  deinit { close(raw) }

  /// `fstat`, or nil when it fails.
  public func status() -> stat? {
    var info = stat()
    return fstat(raw, &info) == 0 ? info : nil
  }
}
