import Support

/// Places kernel watches for the tree as it finds directories. The polling
/// backend places none.
protocol WatchRegistrar: AnyObject {
  /// A watch on the directory held by `directory`, or nil when there is none
  /// to be had (polling, or the watch limit).
  func watch(_ directory: FileDescriptor, as target: WatchTarget) -> Int32?
  /// Removes a watch, if it is still the one placed for `target` (a moved
  /// directory keeps its watch, and may have been placed again elsewhere).
  func unwatch(_ watch: Int32, for target: WatchTarget)
}
