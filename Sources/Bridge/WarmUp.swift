import BridgeProtocol
import Git

/// Work a serving process starts before it knows its first request.
public enum WarmUp {
  /// Starts libgit2's set-up (certificate loading, about 3 ms) on a thread
  /// of its own, so it overlaps argument parsing and the dispatcher's
  /// set-up instead of delaying the first request that reads a repository.
  public static func start() {
    LibGit2.initializeInBackground()
  }

  /// The methods that open a repository (and so wait for libgit2's set-up).
  public static let methodsReadingRepositories: Set<String> = [
    ListFilesRequest.method, GitChangesRequest.method, GitDiffRequest.method,
  ]
}
