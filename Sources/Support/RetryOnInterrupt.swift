/// Calls a system call again for as long as it fails with `EINTR`: that
/// failure only says a signal arrived first, never that the call cannot be
/// done. Any other result, -1 with its `errno` included, is returned as is.
///
/// Not for `poll`/`ppoll` with a deadline, whose timeout must be recomputed
/// after an interruption.
@inlinable
public func retryOnInterrupt<Value: FixedWidthInteger & SignedInteger>(_ call: () -> Value) -> Value {
  while true {
    let result = call()
    if result != -1 || errno != EINTR { return result }
  }
}
