import CLibGit2
import Support

/// Process-wide libgit2 set-up: `git_libgit2_init` runs once, on first use.
public enum LibGit2 {
  private static let initialized: Bool = {
    git_libgit2_init()
    // The bridge serves the workspace the user named, whoever owns it: a
    // container's /workspace is often owned by another uid, and git's
    // "dubious ownership" refusal is what broke OpenHands there (#8231).
    _ = agentbridge_git_set_owner_validation(0)
    return true
  }()

  /// Call before any libgit2 function; cheap after the first time.
  public static func ensureInitialized() { _ = initialized }

  /// Starts the set-up on a detached thread; `ensureInitialized` then waits
  /// only for what is left of it.
  public static func initializeInBackground() {
    Parallel.detach { ensureInitialized() }
  }

  /// Whether libgit2 refuses repositories owned by another user (false once initialised).
  public static var ownerValidation: Bool {
    ensureInitialized()
    return agentbridge_git_get_owner_validation() != 0
  }

  /// The libgit2 the process runs with, e.g. "1.5.1".
  public static var version: String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var revision: Int32 = 0
    git_libgit2_version(&major, &minor, &revision)
    return "\(major).\(minor).\(revision)"
  }
}

/// A libgit2 failure: its return code and the thread's last error message.
public struct GitError: Error, Sendable, CustomStringConvertible {
  public var code: Int32
  public var message: String

  public init(code: Int32, message: String) {
    self.code = code
    self.message = message
  }

  /// The error libgit2 just reported on this thread.
  static func last(_ code: Int32, _ what: String) -> GitError {
    let detail = git_error_last().flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "unknown error"
    return GitError(code: code, message: "\(what): \(detail)")
  }

  public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
  public var isUserCancel: Bool { code == GIT_EUSER.rawValue }

  public var description: String { message }
}

/// Turns a libgit2 return code into a thrown `GitError`.
@inline(__always)
func check(_ result: Int32, _ what: @autoclosure () -> String) throws(GitError) {
  if result < 0 { throw GitError.last(result, what()) }
}
