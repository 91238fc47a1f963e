/// What the working tree holds at a gitDiff path, as the caller read it.
///
/// The caller (the workspace's descriptor walk) reads the file; git code
/// never opens a working-tree path itself, so it cannot be led anywhere a
/// walk inside the workspace would not go.
public enum WorkingTreeSide: Sendable, Equatable {
  /// Nothing there.
  case absent
  /// A regular file's bytes, or a symlink's target text (git's blob for a
  /// link), at most the limit.
  case bytes([UInt8])
  /// A directory; `holdsGitEntry` when it has a `.git` directory or file
  /// (a nested repository or a submodule's checkout).
  case directory(holdsGitEntry: Bool)
  /// A FIFO, socket or device.
  case special
  /// A regular file bigger than the limit: the size found.
  case tooLarge(Int)
  /// Something there that could not be read (permissions, a race).
  case unreadable(String)
}
