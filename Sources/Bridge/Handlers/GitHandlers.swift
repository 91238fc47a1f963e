import BridgeProtocol
import Git
import JSONRPC
import Support
import Synchronization
import Workspace

/// gitChanges and gitDiff: libgit2 work on the conversation's workspace.
///
/// Choices where the contract leaves room (recorded here, tested in GitTests):
/// - A detached HEAD has no branch, so the base starts at the merge-base
///   with origin/HEAD's target, not at its tip: commits origin gained after
///   HEAD left it are not changes in the workspace.
/// - The root repository's own entry for a depth-1 nested repository (an
///   untracked `app/` or a gitlink `app`) is dropped with its contents; the
///   nested repository reports its files itself.
/// - gitDiff reads from the nearest repository enclosing the path (a nested
///   one at any depth), `.git` files included; `ref` applies only when that
///   is the workspace repository. A submodule diffs as git's
///   "Subproject commit <id>" line. Both sides are held to 1 MiB. A path in
///   neither the base nor the working tree is -32010; a directory -32013, the
///   workspace root included.
/// - A workspace inside a larger working tree sees only its own part,
///   paths relative to the workspace.
/// - The workspace repository is the one pinned when the conversation
///   opened (`GitWorkspace`); a nested repository whose git directory,
///   common directory or alternates lie outside the workspace is never
///   opened, and its directory is ordinary content of the enclosing one.
enum GitHandlers {
  static func register(into table: inout HandlerTable) {
    table.work(GitChangesRequest.self) { params, scope in
      let workspace = scope.conversation.git
      let conversationId = scope.conversation.id
      let root = scope.conversation.workspace
      let subscriptions = scope.dispatcher.subscriptions
      let result = await offload { isCancelled in
        // Watched, the answer costs what changed since the last one.
        if params.ref == nil,
          let tracked = subscriptions.gitChanges(conversationId: conversationId, workspace: root, isCancelled: isCancelled)
        {
          return tracked
        }
        return Result { () throws(GitChangesError) in
          try GitChanges.collect(workspace: workspace, ref: params.ref, isCancelled: isCancelled)
        }
      }
      switch result {
      case .success(let changes):
        return GitChangesRequest.Result(git: changes)
      case .failure(.unknownRef(let ref)): throw unknownRef(ref)
      case .failure(.cancelled): throw CancellationError()
      case .failure(.git(let error)): throw BridgeError.internalError("Git error: \(error.message)")
      }
    }

    table.work(GitDiffRequest.self) { params, scope in
      // The working-tree side is read through the workspace's descriptor
      // walk; Git gets those bytes and a name to look up at the base.
      let root = WorkspaceRoot(realPath: scope.conversation.workspace)
      let repository = scope.conversation.git
      let result = await offload { _ in
        Result { () throws(GitDiffFailure) in
          let subject: GitDiffSubject
          do throws(PathError) { subject = try GitDiffSubject(root: root, path: params.path) } catch { throw .outsideWorkspace }
          do throws(GitDiffError) { return try subject.diff(in: repository, ref: params.ref) } catch { throw .diff(error) }
        }
      }
      switch result {
      case .success(let diff):
        return GitDiffRequest.Result(modified: diff.modified, original: diff.original)
      case .failure(.outsideWorkspace):
        throw BridgeError.outsideWorkspace(params.path)
      case .failure(.diff(let error)):
        throw diffError(error, path: params.path)
      }
    }
  }

  static func unknownRef(_ ref: String) -> ResponseError {
    BridgeError.invalidParams(field: "ref", type: "value_error", message: "Unknown revision: \(ref)", input: .string(ref))
  }

  /// Errors name the path as the client gave it.
  static func diffError(_ error: GitDiffError, path: String) -> ResponseError {
    switch error {
    case .notRepository: BridgeError.notGitRepository
    case .unknownRef(let ref): unknownRef(ref)
    case .notFound: BridgeError.fileNotFound(path)
    case .isDirectory: BridgeError.isDirectory(path)
    case .notRegularFile: BridgeError.notRegularFile(path)
    case .tooLarge(let size):
      BridgeError.tooLarge("File too large for git diff: \(size) bytes (max: \(GitDiff.maxBytes) bytes)")
    case .notUTF8: BridgeError.notUTF8(path)
    case .git(let error): BridgeError.internalError("Git error: \(error.message)")
    }
  }

  /// Runs blocking libgit2 work where the handler already is (a
  /// `BlockingWorkExecutor` thread, never a cooperative one); cancelling the
  /// request raises the flag the work polls, from whichever thread cancels.
  static func offload<Success: Sendable, Failure: Error>(
    _ work: @escaping @Sendable (_ isCancelled: @escaping @Sendable () -> Bool) -> Result<Success, Failure>
  ) async -> Result<Success, Failure> {
    let flag = CancellationFlag()
    return await withTaskCancellationHandler {
      work { flag.isSet }
    } onCancel: {
      flag.set()
    }
  }
}

extension GitChangesRequest.Result {
  /// gitChanges' answer from libgit2's (also pushed by subscriptions).
  init(git changes: [GitChange]) {
    self.init(changes.map { GitChangesRequest.Change(.init($0.status), $0.path) })
  }
}

extension GitChangesRequest.Change.Status {
  init(_ status: GitChange.Status) {
    switch status {
    case .added: self = .added
    case .modified: self = .modified
    case .deleted: self = .deleted
    case .unmerged: self = .unmerged
    }
  }
}

/// Why gitDiff failed: the path left the workspace, or the diff itself.
enum GitDiffFailure: Error {
  case outsideWorkspace
  case diff(GitDiffError)
}
