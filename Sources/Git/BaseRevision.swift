import CLibGit2

/// The revision changes and diffs are measured against.
///
/// Chosen from local references only, never the network (OpenHands ran
/// `git remote show origin` on every request): the contract's order is
/// 1. the `ref` the client gave;
/// 2. `origin/<current branch>`;
/// 3. the merge-base of HEAD and what `refs/remotes/origin/HEAD` points to;
/// 4. that target itself (HEAD unborn, or no common history);
/// 5. HEAD;
/// 6. the empty tree (a repository with no commits).
enum BaseRevision {
  /// Nil stands for the empty tree.
  static func tree(of repository: Repository, ref: String?) throws(BaseRevisionError) -> Tree? {
    if let ref {
      if let tree = repository.tree(revision: ref) { return tree }
      // `HEAD` on an unborn branch is a real state, not a typo: nothing is
      // committed yet, so everything is new.
      if ref == "HEAD", git_repository_head_unborn(repository.pointer) == 1 { return nil }
      throw .unknownRef(ref)
    }
    do {
      return try defaultTree(of: repository)
    } catch {
      throw .git(error)
    }
  }

  private static func defaultTree(of repository: Repository) throws(GitError) -> Tree? {
    let head = try repository.head()
    var headCommit: git_oid?
    var branch: String?
    switch head {
    case .unborn(let name): branch = name
    case .branch(let name, let commit):
      branch = name
      headCommit = commit
    case .detached(let commit): headCommit = commit
    }
    if let branch, let upstream = repository.resolveIfPresent("refs/remotes/origin/" + branch) {
      return try repository.tree(peeling: upstream)
    }
    if let remoteDefault = repository.resolveIfPresent("refs/remotes/origin/HEAD") {
      if let headCommit, let base = repository.mergeBase(headCommit, remoteDefault) {
        return try repository.tree(peeling: base)
      }
      return try repository.tree(peeling: remoteDefault)
    }
    if let headCommit { return try repository.tree(peeling: headCommit) }
    return nil
  }
}

enum BaseRevisionError: Error {
  case unknownRef(String)
  case git(GitError)
}
