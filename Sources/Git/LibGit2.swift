import CLibGit2

/// Process-wide libgit2 set-up: `git_libgit2_init` runs once, on first use.
public enum LibGit2 {
  private static let initialized: Bool = {
    git_libgit2_init()
    return true
  }()

  /// Call before any libgit2 function; cheap after the first time.
  public static func ensureInitialized() { _ = initialized }

  /// The libgit2 the process runs with, e.g. "1.5.1".
  public static var version: String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var revision: Int32 = 0
    git_libgit2_version(&major, &minor, &revision)
    return "\(major).\(minor).\(revision)"
  }
}
