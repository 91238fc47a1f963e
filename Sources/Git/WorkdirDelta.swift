import CLibGit2

/// One index-to-working-tree difference, copied out of libgit2's diff.
struct WorkdirDelta: Sendable {
  var path: String
  var status: git_delta_t
  var newId: git_oid
  var newMode: UInt16
  var newFlags: UInt32
}

extension WorkdirDelta {
  /// The same difference: the same path, status, mode, flags and content id.
  func isSame(as other: WorkdirDelta) -> Bool {
    path == other.path && status == other.status && newMode == other.newMode && newFlags == other.newFlags
      && newId.isEqual(to: other.newId)
  }
}
