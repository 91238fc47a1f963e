import Support

/// What a lookup found.
public enum Lookup: Sendable {
  /// The object exists; it is held open.
  case found(WorkspaceItem)
  /// Nothing there: a missing component, a path through a file, or a
  /// broken or looping symlink. The name is where it would be, for lookups
  /// in git's trees only, made of directories the walk held and, below the
  /// first missing component, the client's own components as text (none of
  /// them `..`). It is nil when no such name exists: a loop, an unreadable
  /// link, or `..` after a missing component (the kernel's answer to
  /// `missing/..` is ENOENT too, and text cannot tell where `..` would land;
  /// a `..` that would climb above the root is still `outsideWorkspace`).
  case missing(RelativeName?)
  /// Something on the way could not be opened (permissions).
  case failed(OpenFailure)
}

/// An `open` that failed after the walk succeeded (permissions, a race).
public struct OpenFailure: Error, Sendable, Equatable {
  public var errno: Int32
  public var message: String { String(cString: strerror(errno)) }
}
