import CLibGit2
import Support

/// One repository's changes against its base: `git diff --name-status
/// --no-renames <base>` plus `git ls-files --others --exclude-standard`.
///
/// Two libgit2 comparisons are blended here: base to index (cached while
/// neither changes) and index to working tree, the part that stats every
/// file. A large tree's second half is split by directory over several
/// threads, each with its own repository handle, as git's preload-index
/// splits its stat calls.
struct RepositoryScan {
  /// The repository, opened exactly as found.
  let repository: FoundRepository
  /// The directory whose changes are wanted (paths come back relative to
  /// it): the workspace, or a nested repository's working tree.
  let workspace: String
  let ref: String?
  let isCancelled: @Sendable () -> Bool
  let tuning: Tuning

  struct Tuning: Sendable {
    /// Index entries below which one thread does it all.
    var parallelThreshold: Int
    var entriesPerWorker: Int
    var maxWorkers: Int

    /// `AGENT_BRIDGE_GIT_THREADS` caps the threads (1: never split).
    static let standard = Tuning(
      parallelThreshold: 4000, entriesPerWorker: 2500,
      maxWorkers: max(1, getenv("AGENT_BRIDGE_GIT_THREADS").flatMap { Int(String(cString: $0)) } ?? 4))
  }

  /// Paths relative to `workspace`; [] when the repository is not there.
  func run() throws -> [GitChange] {
    var memory: ScanMemory?
    return try run(memory: &memory, dirty: nil)
  }

  /// `run()`, comparing again only the `dirty` paths (relative to
  /// `workspace`; a directory ending in `/` stands for everything below
  /// it) when `memory` holds an earlier scan whose key still holds; the
  /// whole scope otherwise, or when `dirty` is nil. `memory` is left with
  /// this scan's (nil when it failed or found no repository).
  func run(memory: inout ScanMemory?, dirty: Set<String>?) throws -> [GitChange] {
    let earlier = memory
    memory = nil
    let pool = RepositoryPool.shared
    return try pool.with(repository, count: 1) { mains throws -> [GitChange] in
      guard let main = mains.first else { return [] }
      guard let scope = WorkspaceRepository.scope(of: main.repository, workspace: workspace) else { return [] }
      let base = try BaseRevision.tree(of: main.repository, ref: ref)
      let index = try main.index
      let named = main.repository.filesNamedByConfig
      // Rules from files no key can stamp: nothing may rest on this scan.
      let narrowable = named != nil
      let top = FileSystem.realPath(repository.workdir) ?? repository.workdir
      let settings =
        ScanMemory.Key.settingsFiles(gitdir: repository.gitdir, commondir: repository.commondir)
        + ScanMemory.Key.enclosingRuleFiles(top: top, scope: scope) + (named ?? [])
      let key = ScanMemory.Key(
        repository: repository, scope: scope,
        staged: StagedCache.Key(base: base.map { git_tree_id($0.pointer).pointee }, index: git_index_checksum(index.pointer).pointee),
        settings: settings.map { FileStamp($0) })
      let comparison = Comparison(main: main, base: base, scope: scope, isCancelled: isCancelled)

      if narrowable, let dirty, var kept = earlier, kept.key == key {
        let staged = try comparison.staged()
        // Submodules are compared every time: what moves their status
        // happens in their own git directory.
        let specs = kept.widened(Set(dirty.map { scope + $0 } + kept.gitlinks))
        var linked = false
        var differs = false
        if !specs.isEmpty {
          let fresh = try Comparison.workdir(main, pathspec: specs.sorted(), isCancelled: isCancelled)
          linked = ScanMemory.holdsLinkedRules(fresh)
          differs = kept.replace(under: specs, with: fresh)
        }
        // The same key (base, index, rules) and the same working-tree half:
        // the blend would give what it gave last time.
        let changes: [GitChange]
        if !differs, let last = kept.lastChanges {
          changes = last
        } else {
          changes = try comparison.blend(staged: staged, unstaged: Array(kept.unstaged.values))
          kept.lastChanges = changes
        }
        kept.narrowedScans += 1
        if !linked { memory = kept }
        return changes
      }

      let entries = git_index_entrycount(index.pointer)
      let workers =
        entries >= tuning.parallelThreshold && tuning.maxWorkers > 1
        ? max(2, min(tuning.maxWorkers, entries / max(1, tuning.entriesPerWorker))) : 0
      func remember(_ unstaged: [WorkdirDelta]) {
        var byPath: [String: WorkdirDelta] = [:]
        byPath.reserveCapacity(unstaged.count)
        for delta in unstaged { byPath[delta.path] = delta }
        let found = ScanMemory.gitlinks(in: index, scope: scope)
        guard narrowable, !found.linkedRules, !ScanMemory.holdsLinkedRules(unstaged) else { return }
        memory = ScanMemory(key: key, unstaged: byPath, gitlinks: found.paths)
      }

      if workers == 0 {
        let staged = try comparison.staged()
        let unstaged = try Comparison.workdir(main, pathspec: scope.isEmpty ? [] : [scope], isCancelled: isCancelled)
        let changes = try comparison.blend(staged: staged, unstaged: unstaged)
        remember(unstaged)
        memory?.lastChanges = changes
        return changes
      }

      let buckets = WorkPlan.buckets(
        index: try main.index, workdir: main.repository.workdir ?? repository.workdir, scope: scope, count: workers)
      return try pool.with(repository, count: buckets.count) { helpers throws -> [GitChange] in
        guard helpers.count == buckets.count else { throw GitError(code: -1, message: "The repository went away") }
        // Slot 0 is this thread: the base-to-index half. The others each
        // take one bucket of the working tree with their own handle.
        var staged: Result<[String: StagedDelta], GitError> = .success([:])
        let slots = ResultSlots<[WorkdirDelta]>(count: buckets.count)
        Parallel.run(buckets.count + 1) { slot in
          if slot == 0 {
            staged = Result { () throws(GitError) in try comparison.staged() }
          } else {
            slots.store(slot - 1) { () throws(GitError) in
              try Comparison.workdir(helpers[slot - 1], pathspec: buckets[slot - 1], isCancelled: isCancelled)
            }
          }
        }
        let unstaged = try slots.collect().joined().sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        let changes = try comparison.blend(staged: staged.get(), unstaged: unstaged)
        remember(unstaged)
        memory?.lastChanges = changes
        return changes
      }
    }
  }
}
