import CLibGit2

/// One index-to-working-tree difference, copied out of libgit2's diff.
struct WorkdirDelta: Sendable {
  var path: String
  var status: git_delta_t
  var newId: git_oid
  var newMode: UInt16
  var newFlags: UInt32
}
