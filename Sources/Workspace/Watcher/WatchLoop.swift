import Git
import Support

/// The watcher's thread: owns the tree and the kernel watches.
final class WatchLoop {
  private let options: WatcherOptions
  private let shared: WatcherShared
  private let log: @Sendable (String) -> Void
  private let deliver: @Sendable (WatchBatch) -> Void
  private let tree: WorkspaceTree
  #if os(Linux)
  private let inotify: Inotify?
  #endif
  private var mode: WatchState.Mode
  private var hints = ChangeHints()
  private var noted: Set<String> = []
  private var overflows = 0
  /// Whose ignore rules leave directories unwatched; nil: none are.
  private let git: GitWorkspace?
  private var rulesStamp: IgnoreRulesStamp?
  /// The first read found a linked rule file: told in a batch of its own
  /// before any other, since no event may ever name it.
  private var linkedAtStart = false

  init(
    root: WorkspaceRoot, git: GitWorkspace?, options: WatcherOptions, shared: WatcherShared,
    log: @escaping @Sendable (String) -> Void, deliver: @escaping @Sendable (WatchBatch) -> Void
  ) {
    self.options = options
    self.shared = shared
    self.log = log
    self.deliver = deliver
    #if os(Linux)
    let inotify = options.backend == .automatic ? Inotify(maxWatches: options.maxWatches) : nil
    self.inotify = inotify
    // Polling has no watch on `.git`: an index change (a force-added file)
    // would never bring a left-out directory back, so none is left out.
    let rulesGit = inotify == nil ? nil : git
    tree = WorkspaceTree(root: root, registrar: inotify, git: rulesGit)
    mode = inotify == nil ? .polling : .events
    #else
    let rulesGit: GitWorkspace? = nil
    tree = WorkspaceTree(root: root, registrar: nil, git: nil)
    mode = .polling
    #endif
    self.git = rulesGit
  }

  /// The first full read, on the caller's thread.
  func start() -> Bool {
    #if os(Linux)
    if options.backend == .automatic && inotify == nil {
      note("inotify", "inotify is unavailable (\(String(cString: strerror(errno)))): polling every \(options.rescanInterval)")
    }
    #endif
    _ = rulesMoved()
    guard tree.scanAll() else { return false }
    linkedAtStart = tree.holdsLinkedRuleFile
    checkWatchLimit()
    _ = publish()
    return true
  }

  func run() {
    let clock = ContinuousClock()
    var firstHint: ContinuousClock.Instant?
    var lastHint: ContinuousClock.Instant?
    var nextRescan: ContinuousClock.Instant? = mode == .events ? nil : clock.now + options.rescanInterval
    if linkedAtStart && !shared.isStopped { deliver(WatchBatch(linkedRuleFiles: true)) }
    while !shared.isStopped {
      var deadline: ContinuousClock.Instant?
      if let firstHint, let lastHint {
        deadline = min(lastHint + options.debounce, firstHint + options.debounce * 5)
      }
      if let nextRescan { deadline = deadline.map { min($0, nextRescan) } ?? nextRescan }
      var descriptors = [pollfd(fd: shared.wakeRead.raw, events: Int16(POLLIN), revents: 0)]
      #if os(Linux)
      if let inotify { descriptors.append(pollfd(fd: inotify.descriptor.raw, events: Int16(POLLIN), revents: 0)) }
      #endif
      let timeout = deadline.map { Self.milliseconds(until: $0, clock: clock) } ?? -1
      let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
      if shared.isStopped { break }
      if ready < 0 && errno != EINTR { break }
      if descriptors[0].revents != 0 { shared.drainWake() }
      // Taken before the kernel queue is read: every change made before a
      // caller asked is in that queue by now (inotify queues events as the
      // system call makes the change).
      let syncs = shared.takeSyncs()
      #if os(Linux)
      if descriptors.count > 1 && (descriptors[1].revents != 0 || !syncs.isEmpty) {
        let before = hints.isEmpty
        readEvents()
        if !hints.isEmpty {
          let now = clock.now
          if before || firstHint == nil { firstHint = now }
          lastHint = now
        }
      }
      #endif
      // Rules no watch sees (config, `info/exclude`, the user's excludes)
      // are looked at when a caller asks, so an answer never rests on a
      // directory left out by rules that no longer hold.
      if !syncs.isEmpty && !tree.skipped.isEmpty && rulesMoved() {
        hints.rules = true
        if firstHint == nil { firstHint = clock.now }
        lastHint = clock.now
      }
      let now = clock.now
      if let first = firstHint, let last = lastHint,
        !syncs.isEmpty || now >= min(last + options.debounce, first + options.debounce * 5)
      {
        flush()
        hints = ChangeHints()
        firstHint = nil
        lastHint = nil
      }
      for caller in syncs { caller.signal() }
      if mode != .events && !shared.isStopped {
        if let due = nextRescan {
          if now >= due {
            rescanAll()
            nextRescan = clock.now + options.rescanInterval
          }
        } else {
          nextRescan = clock.now + options.rescanInterval
        }
      }
    }
    shared.stop()
    shared.closeSyncs()
  }

  #if os(Linux)
  /// Turns queued events into hints.
  private func readEvents() {
    guard let inotify else { return }
    inotify.drain { event in
      hints.count()
      if event.mask & Inotify.queueOverflow != 0 {
        hints.markOverflow()
        return
      }
      if let limit = options.maxQueuedEvents, hints.events > limit {
        hints.markOverflow()
        return
      }
      guard let target = inotify.targets[event.watch] else { return }
      if event.mask & Inotify.ignored != 0 {
        inotify.forget(event.watch)
        if case .directory(let directory) = target {
          if directory.isEmpty { hints.workspaceDeleted = true } else { hints.markReplaced(directory) }
        }
        return
      }
      switch target {
      case .directory(let directory):
        if event.name.isEmpty {
          if directory.isEmpty && event.mask & (Inotify.deleteSelf | Inotify.moveSelf | Inotify.unmount) != 0 {
            hints.workspaceDeleted = true
          }
        } else {
          hints.mark(directory, event.name)
        }
      case .gitDirectory(let repository):
        switch String(decoding: event.name, as: UTF8.self) {
        case "HEAD", "index", "packed-refs": hints.git = true
        case "refs":
          hints.git = true
          hints.gitRewatch.insert(repository)
        case "config", "config.worktree": hints.settings = true
        case "info":
          hints.settings = true
          hints.gitRewatch.insert(repository)
        default: break
        }
      case .gitInfo:
        switch String(decoding: event.name, as: UTF8.self) {
        case "exclude", "attributes": hints.settings = true
        default: break
        }
      case .gitRefs(let repository):
        if event.name.isEmpty || event.name.suffix(5).elementsEqual(".lock".utf8) { return }
        hints.git = true
        if event.mask & Inotify.isDirectory != 0 && event.mask & (Inotify.create | Inotify.movedTo) != 0 {
          hints.gitRewatch.insert(repository)
        }
      }
    }
  }
  #endif

  /// Settles the hints of one window and delivers what changed.
  private func flush() {
    defer { tree.refreshIgnoreRules() }
    var changes = ChangeSet()
    var git = hints.git
    var present = !hints.workspaceDeleted
    let rescanned = hints.overflow
    tree.refreshIgnoreRules()
    for directory in hints.replaced { tree.forgetIdentity(of: directory) }
    if present && hints.overflow {
      overflows += 1
      note(
        "overflow",
        "The kernel's event queue overflowed (fs.inotify.max_queued_events): rescanning the whole workspace"
          + " after each overflow")
      present = tree.rescanAll(&changes, &git)
    } else if present {
      for (directory, names) in hints.ordered() {
        present = tree.rescan(directory, names: names, &changes, &git)
        if !present { break }
      }
      for repository in hints.gitRewatch { tree.rewatchGit(repository) }
    }
    guard present else { return workspaceDeleted() }
    let moved = settleIgnored(&changes, &git, forced: hints.rules, settings: hints.settings)
    // What the stamp follows moved (config, `info/exclude`, the excludes
    // file): status may differ with no working-tree file changed. With no
    // stamp to ask, a write there is taken as a move.
    if moved || hints.rules || (hints.settings && self.git == nil) { git = true }
    deliverBatch(changes, git: git, rescanned: rescanned)
  }

  private func rescanAll() {
    defer { tree.refreshIgnoreRules() }
    var changes = ChangeSet()
    var git = false
    tree.refreshIgnoreRules()
    guard tree.rescanAll(&changes, &git) else { return workspaceDeleted() }
    if settleIgnored(&changes, &git, forced: false) { git = true }
    deliverBatch(changes, git: git, rescanned: true)
  }

  /// Delivers what one window or rescan settled, with the watch state, as
  /// one batch (none when nothing changed).
  private func deliverBatch(_ changes: ChangeSet, git: Bool, rescanned: Bool) {
    checkWatchLimit()
    let stateChanged = publish()
    let batch = WatchBatch(
      changes: changes.sorted(), gitMetadataChanged: git, rescanned: rescanned,
      repositories: changes.repositories.sorted { [UInt8].bytewiseLess(Array($0.utf8), Array($1.utf8)) },
      stateChanged: stateChanged, linkedRuleFiles: changes.ruleFiles.contains(where: tree.isLinked))
    if !batch.isEmpty && !shared.isStopped { deliver(batch) }
  }

  /// Takes in or leaves out directories when what git ignores may have
  /// moved: a `.gitignore`, the repositories at depth 0 or 1, the files
  /// `IgnoreRulesStamp` follows; or, for tracked files, the index.
  ///
  /// The stamp (which opens every depth-1 repository) is only taken when
  /// something is left out, the rules moved anyway, or `settings` (a file
  /// it follows was written): with nothing left out, rules that moved
  /// unseen can only leave out less than they might. Returns whether the
  /// stamp moved.
  @discardableResult
  private func settleIgnored(_ changes: inout ChangeSet, _ git: inout Bool, forced: Bool, settings: Bool = false)
    -> Bool
  {
    guard tree.followsIgnoreRules else { return false }
    let touched = forced || changes.touchesIgnoreRules || changes.repositories.contains { !$0.utf8.contains(0x2F) }
    let moved = (touched || settings || !tree.skipped.isEmpty) && rulesMoved()
    let rules = touched || moved
    if rules || git { tree.reconsiderIgnored(rules: rules, &changes, &git) }
    return moved
  }

  /// Whether the rules' stamp moved since the last look. One that cannot
  /// follow every rule file leaves nothing out until it can.
  private func rulesMoved() -> Bool {
    guard let git, tree.followsIgnoreRules else { return false }
    let now = IgnoreRulesStamp(git)
    defer { rulesStamp = now }
    tree.ruleFilesFollowed = now.isComplete
    return now != rulesStamp
  }

  private func workspaceDeleted() {
    shared.state.withLock { $0.workspaceDeleted = true }
    if !shared.isStopped {
      deliver(WatchBatch(changes: [WatchChange(path: "", kind: .deleted)], workspaceDeleted: true))
    }
    shared.stop()
    shared.closeSyncs()
  }

  /// Past the watch limit, a periodic rescan covers what has no watch.
  private func checkWatchLimit() {
    #if os(Linux)
    guard let inotify, inotify.limitReached, mode == .events else { return }
    mode = .eventsWithPeriodicRescan
    note(
      "watch-limit",
      "Out of inotify watches (fs.inotify.max_user_watches) after \(inotify.count): also rescanning the"
        + " workspace every \(options.rescanInterval)")
    #endif
  }

  private func note(_ key: String, _ message: String) {
    guard noted.insert(key).inserted else { return }
    log(message)
    shared.state.withLock { $0.notes.append(message) }
  }

  /// Whether the mode or the overflow count moved since the last time.
  private func publish() -> Bool {
    #if os(Linux)
    let watches = inotify?.count ?? 0
    #else
    let watches = 0
    #endif
    let mode = self.mode
    let overflows = self.overflows
    return shared.state.withLock { state in
      let before = (state.mode, state.overflows)
      if state.mode != .stopped { state.mode = mode }
      state.watches = watches
      state.overflows = overflows
      return before != (state.mode, state.overflows)
    }
  }

  private static func milliseconds(until deadline: ContinuousClock.Instant, clock: ContinuousClock) -> Int32 {
    let left = clock.now.duration(to: deadline)
    if left <= .zero { return 0 }
    let (seconds, attoseconds) = left.components
    // Rounded up: waking a little late is harmless, early spins.
    let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int32(clamping: total)
  }
}
