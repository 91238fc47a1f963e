import CLibGit2

/// An open libgit2 repository, freed when the last reference goes.
///
/// Not Sendable on purpose: a handle is opened for one request and used on
/// that request's thread only, which is all libgit2 promises to be safe.
final class Repository {
  let pointer: OpaquePointer

  private init(_ pointer: OpaquePointer) { self.pointer = pointer }

  deinit { git_repository_free(pointer) }

  /// Opens exactly the repository `found` names: its git directory, never
  /// searched for and never through a gitfile, its working tree forced to
  /// `found.workdir` so that `core.worktree` (or a worktree's `gitdir` file)
  /// is never obeyed. Nil when it is no longer there as found (its git or
  /// common directory now resolves elsewhere), or is bare.
  ///
  /// libgit2 opens by path string: what is checked here and in
  /// `RepositoryBounds` can still be swapped before libgit2 reads (an
  /// accepted time-of-check to time-of-use window).
  static func open(_ found: FoundRepository) throws(GitError) -> Repository? {
    LibGit2.ensureInitialized()
    var raw: OpaquePointer?
    let flags = GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue | GIT_REPOSITORY_OPEN_NO_DOTGIT.rawValue
    let result = git_repository_open_ext(&raw, found.gitdir, flags, nil)
    if result == GIT_ENOTFOUND.rawValue {
      git_error_clear()
      return nil
    }
    try check(result, "Cannot open the repository")
    guard let raw else { return nil }
    let repository = Repository(raw)
    guard git_repository_is_bare(raw) == 0,
      FileSystem.realPath(String(cString: git_repository_path(raw))) == found.gitdir,
      FileSystem.realPath(String(cString: git_repository_commondir(raw))) == found.commondir
    else { return nil }
    try check(git_repository_set_workdir(raw, found.workdir, 0), "Cannot set the working tree")
    return repository
  }

  /// The working tree's path, without a trailing slash; nil for bare ones.
  var workdir: String? {
    guard git_repository_is_bare(pointer) == 0, let raw = git_repository_workdir(pointer) else { return nil }
    var path = String(cString: raw)
    while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
    return path
  }

  // MARK: HEAD and references (all local: libgit2 never touches the network here)

  enum Head {
    /// HEAD names a branch with no commit yet.
    case unborn(branch: String?)
    case branch(String, commit: git_oid)
    case detached(commit: git_oid)
  }

  func head() throws(GitError) -> Head {
    if git_repository_head_unborn(pointer) == 1 {
      return .unborn(branch: symbolicTarget("HEAD").flatMap(Self.branchName))
    }
    let commit = try resolve("HEAD")
    if git_repository_head_detached(pointer) == 1 { return .detached(commit: commit) }
    guard let branch = symbolicTarget("HEAD").flatMap(Self.branchName) else { return .detached(commit: commit) }
    return .branch(branch, commit: commit)
  }

  private static func branchName(_ reference: String) -> String? {
    let prefix = "refs/heads/"
    guard reference.hasPrefix(prefix) else { return nil }
    return String(reference.dropFirst(prefix.count))
  }

  /// Where a symbolic reference points (`refs/heads/main` for HEAD), or nil.
  func symbolicTarget(_ name: String) -> String? {
    var reference: OpaquePointer?
    guard git_reference_lookup(&reference, pointer, name) == 0, let reference else {
      git_error_clear()
      return nil
    }
    defer { git_reference_free(reference) }
    guard git_reference_type(reference) == GIT_REFERENCE_SYMBOLIC,
      let target = git_reference_symbolic_target(reference)
    else { return nil }
    return String(cString: target)
  }

  /// The object id a reference name resolves to, following symbolic ones.
  func resolve(_ name: String) throws(GitError) -> git_oid {
    var oid = git_oid()
    try check(git_reference_name_to_id(&oid, pointer, name), "Cannot resolve \(name)")
    return oid
  }

  /// Like `resolve`, but nil when the reference does not exist or is broken.
  func resolveIfPresent(_ name: String) -> git_oid? {
    var oid = git_oid()
    guard git_reference_name_to_id(&oid, pointer, name) == 0 else {
      git_error_clear()
      return nil
    }
    return oid
  }

  /// The best common ancestor of two commits, nil when they share none.
  func mergeBase(_ one: git_oid, _ two: git_oid) -> git_oid? {
    var out = git_oid()
    var one = one
    var two = two
    guard git_merge_base(&out, pointer, &one, &two) == 0 else {
      git_error_clear()
      return nil
    }
    return out
  }

  /// The tree an object id peels to (a commit's tree, a tag's target's tree).
  func tree(peeling oid: git_oid) throws(GitError) -> Tree {
    var oid = oid
    var object: OpaquePointer?
    try check(git_object_lookup(&object, pointer, &oid, GIT_OBJECT_ANY), "Cannot read object")
    defer { git_object_free(object) }
    return try Self.peeledTree(object)
  }

  private static func peeledTree(_ object: OpaquePointer?) throws(GitError) -> Tree {
    var peeled: OpaquePointer?
    try check(git_object_peel(&peeled, object, GIT_OBJECT_TREE), "Not a tree-ish")
    return Tree(peeled!)
  }

  /// The tree a revision expression (`main`, `HEAD~2`, `v1.0`, an id) names.
  /// Nil when it names nothing, or nothing that has a tree.
  func tree(revision: String) -> Tree? {
    var object: OpaquePointer?
    guard git_revparse_single(&object, pointer, revision) == 0, let object else {
      git_error_clear()
      return nil
    }
    defer { git_object_free(object) }
    do {
      return try Self.peeledTree(object)
    } catch {
      git_error_clear()
      return nil
    }
  }

  // MARK: Index and content

  func index() throws(GitError) -> Index {
    var raw: OpaquePointer?
    try check(git_repository_index(&raw, pointer), "Cannot read the index")
    return Index(raw!)
  }

  /// The blob id the working-tree file at `path` would get when added,
  /// through the repository's filters (autocrlf, ident, ...).
  func hashWorkdirFile(_ path: String) -> git_oid? {
    guard let workdir else { return nil }
    var oid = git_oid()
    guard git_repository_hashfile(&oid, pointer, workdir + "/" + path, GIT_OBJECT_BLOB, path) == 0 else {
      git_error_clear()
      return nil
    }
    return oid
  }

  func blob(_ oid: git_oid) throws(GitError) -> Blob {
    var oid = oid
    var raw: OpaquePointer?
    try check(git_blob_lookup(&raw, pointer, &oid), "Cannot read blob")
    return Blob(raw!)
  }
}

/// A tree object.
final class Tree {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
  deinit { git_tree_free(pointer) }

  struct Entry {
    var oid: git_oid
    var type: git_object_t
    var mode: git_filemode_t
  }

  /// The entry at a `/`-separated path, or nil when the tree has none.
  func entry(at path: String) -> Entry? {
    var raw: OpaquePointer?
    guard git_tree_entry_bypath(&raw, pointer, path) == 0, let raw else {
      git_error_clear()
      return nil
    }
    defer { git_tree_entry_free(raw) }
    return Entry(oid: git_tree_entry_id(raw).pointee, type: git_tree_entry_type(raw), mode: git_tree_entry_filemode(raw))
  }
}

/// A blob object; its bytes stay valid while it lives.
final class Blob {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
  deinit { git_blob_free(pointer) }

  var size: Int { Int(git_blob_rawsize(pointer)) }

  var bytes: [UInt8] {
    let count = size
    guard count > 0, let raw = git_blob_rawcontent(pointer) else { return [] }
    return Array(UnsafeRawBufferPointer(start: raw, count: count))
  }
}

/// The repository's index (staging area).
final class Index {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
  deinit { git_index_free(pointer) }

  /// Paths with unmerged (conflict) entries.
  func conflictedPaths() throws(GitError) -> Set<String> {
    guard git_index_has_conflicts(pointer) == 1 else { return [] }
    var iterator: OpaquePointer?
    try check(git_index_conflict_iterator_new(&iterator, pointer), "Cannot read index conflicts")
    defer { git_index_conflict_iterator_free(iterator) }
    var paths: Set<String> = []
    var ancestor: UnsafePointer<git_index_entry>?
    var ours: UnsafePointer<git_index_entry>?
    var theirs: UnsafePointer<git_index_entry>?
    while git_index_conflict_next(&ancestor, &ours, &theirs, iterator) == 0 {
      if let entry = ancestor ?? ours ?? theirs, let path = entry.pointee.path {
        paths.insert(String(cString: path))
      }
    }
    git_error_clear()
    return paths
  }
}

/// A computed diff: its deltas stay valid while it lives.
final class Diff {
  let pointer: OpaquePointer
  init(_ pointer: OpaquePointer) { self.pointer = pointer }
  deinit { git_diff_free(pointer) }

  var count: Int { git_diff_num_deltas(pointer) }

  func delta(_ index: Int) -> git_diff_delta { git_diff_get_delta(pointer, index).pointee }
}

extension git_oid {
  func isEqual(to other: git_oid) -> Bool {
    var lhs = self
    var rhs = other
    return git_oid_cmp(&lhs, &rhs) == 0
  }

  var hex: String {
    var oid = self
    var buffer = [UInt8](repeating: 0, count: 40)
    buffer.withUnsafeMutableBufferPointer { raw in
      raw.withMemoryRebound(to: CChar.self) { _ = git_oid_fmt($0.baseAddress, &oid) }
    }
    return String(decoding: buffer, as: UTF8.self)
  }
}
