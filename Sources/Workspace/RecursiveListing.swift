#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Git
import Synchronization

/// The walk behind `FileListing.listRecursive`, spread over the cores.
///
/// On a large repository the time goes to three things of similar size:
/// reading directories (the kernel), reading git's index, and asking libgit2
/// whether each untracked file is ignored (each question re-checks the
/// ignore files on its path, about six stats). So:
///
/// 1. Walk: threads take directories from a shared queue, read and sort
///    them, and decide for each subdirectory whether git would look inside
///    it. Meanwhile one thread reads the index, which the walk needs only
///    for an ignored directory (to keep tracked files below it).
/// 2. Verdicts: every file found is split evenly between the threads, which
///    keep tracked files and ask about the others, each thread through its
///    own repository handle.
/// 3. Output: one depth-first pass over the directories, whose entries are
///    sorted by name bytes with `/` after directory names, yields the whole
///    list in code-point path order without a global sort.
struct RecursiveListing {
  let root: WorkspaceRoot
  /// What every output path starts with (the `path` asked for, with `/`).
  let prefix: [UInt8]
  let threads: Int

  /// One directory of the walk and what was found in it. Written by the
  /// thread that reads it, read by others only after the walk's threads
  /// have been joined.
  final class Directory: @unchecked Sendable {
    /// Relative to the listed directory: empty, or ending in `/`.
    let listed: [UInt8]
    /// Relative to the workspace root (symlinks are resolved from there).
    let relative: String
    /// On disk (a nested repository is opened by it).
    let absolute: String
    var handle: FileDescriptor?
    /// The rules of the repository holding it, if any.
    var rules: IgnoreRules?
    /// The directory relative to `rules.workdir`: empty or ending in `/`.
    var repositoryPath: [UInt8] = []
    /// Its files and subdirectories, in path order.
    var items: [Item] = []
    /// Positions in `items` of files git ignores.
    var ignoredItems: Set<Int> = []

    enum Item {
      case file([UInt8])
      case directory(Directory)
    }

    init(listed: [UInt8], relative: String, absolute: String, handle: FileDescriptor, rules: IgnoreRules?) {
      self.listed = listed
      self.relative = relative
      self.absolute = absolute
      self.handle = handle
      self.rules = rules
    }
  }

  /// Lists every file below `directory` that git would not leave out.
  func run(
    directory: Directory, progress: (Int) -> Void, isCancelled: () -> Bool
  ) throws -> [String] {
    if let rules = directory.rules, let path = rules.relative(directory.absolute) {
      directory.repositoryPath = Self.directoryPath(path)
    }
    let threads = threads
    let shared = Shared()
    // 1. Walk, in rounds: a round ends with the directories whose verdict
    // had to wait for an index (an ignored directory may still hold tracked
    // files), decided then and walked by the next round. Slot 0 is this
    // thread: it reads the index first, and it alone reports progress and
    // polls cancellation (the task is only visible from its own thread).
    var round = [directory]
    var first = true
    while !round.isEmpty {
      shared.start(round)
      let readIndex = first
      withoutActuallyEscaping(progress) { progress in
        withoutActuallyEscaping(isCancelled) { isCancelled in
          let callbacks = UncheckedBox((progress, isCancelled))
          Parallel.run(threads) { slot in
            if slot == 0 && readIndex { directory.rules?.prepareIndex() }
            var walker = Walker(listing: self, shared: shared, slot: slot)
            walker.work(progress: slot == 0 ? callbacks.value.0 : nil, isCancelled: slot == 0 ? callbacks.value.1 : nil)
          }
        }
      }
      if shared.stop.load(ordering: .relaxed) || isCancelled() { throw CancellationError() }
      round = shared.takeUndecided().filter { child in
        guard let rules = child.rules, Self.withCString(child.repositoryPath, rules.hasTrackedFiles(under:)) else {
          child.handle = nil
          return false
        }
        return true
      }
      first = false
    }

    // 2. Verdicts for every file git might ignore.
    var questions: [(directory: Directory, item: Int)] = []
    Self.forEachFile(directory) { directory, position in
      if directory.rules != nil { questions.append((directory, position)) }
    }
    var ignored = [Bool](repeating: false, count: questions.count)
    if !questions.isEmpty {
      let share = (questions.count + threads - 1) / threads
      ignored.withUnsafeMutableBufferPointer { verdicts in
        let verdicts = UncheckedBox(verdicts)
        let questions = UncheckedBox(questions)
        Parallel.run(min(threads, questions.value.count)) { slot in
          var query: [UInt8] = []
          // Questions come in path order: one index cursor per repository.
          var cursors: [ObjectIdentifier: IgnoreRules.Cursor] = [:]
          for position in (slot * share)..<min(questions.value.count, (slot + 1) * share) {
            let (directory, item) = questions.value[position]
            guard let rules = directory.rules, case .file(let name) = directory.items[item] else { continue }
            query.removeAll(keepingCapacity: true)
            query.append(contentsOf: directory.repositoryPath)
            query.append(contentsOf: name)
            let key = ObjectIdentifier(rules)
            var cursor = cursors[key] ?? IgnoreRules.Cursor()
            verdicts.value[position] = RecursiveListing.withCString(query) {
              !rules.isTracked($0, cursor: &cursor) && rules.isIgnored($0, slot: slot)
            }
            cursors[key] = cursor
          }
        }
      }
    }
    if isCancelled() { throw CancellationError() }

    // 3. Output in path order.
    for (position, question) in questions.enumerated() where ignored[position] {
      question.directory.ignoredItems.insert(question.item)
    }
    var output: [String] = []
    output.reserveCapacity(shared.found.load(ordering: .relaxed))
    Self.forEachFile(directory) { directory, position in
      guard case .file(let name) = directory.items[position], !directory.ignoredItems.contains(position) else { return }
      output.append(Self.string(prefix, directory.listed, name))
    }
    return output
  }

  /// Calls `body` with each file's directory and position, in path order.
  static func forEachFile(_ directory: Directory, _ body: (Directory, Int) -> Void) {
    for (position, item) in directory.items.enumerated() {
      switch item {
      case .file: body(directory, position)
      case .directory(let child): forEachFile(child, body)
      }
    }
  }

  /// Calls `body` with `bytes` NUL-terminated.
  static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    DirectoryReader.withCString(bytes, body)
  }

  /// `path` as bytes ending in `/`, or empty.
  static func directoryPath(_ path: String) -> [UInt8] {
    var bytes = Array(path.utf8)
    if !bytes.isEmpty && bytes.last != 0x2F { bytes.append(0x2F) }
    return bytes
  }

  static func string(_ a: [UInt8], _ b: [UInt8], _ c: [UInt8]) -> String {
    String(unsafeUninitializedCapacity: a.count + b.count + c.count) { buffer in
      var end = buffer.initialize(fromContentsOf: a)
      end += UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: b)
      end += UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: c)
      return end
    }
  }

  // MARK: The walk

  /// The queue of directories still to read, and what the threads share.
  final class Shared: Sendable {
    private let state: Mutex<State>
    let stop = Atomic<Bool>(false)
    /// Files found so far, for progress.
    let found = Atomic<Int>(0)

    struct State {
      var waiting: [Directory] = []
      /// Threads reading a directory (which may add more).
      var busy = 0
      /// Ignored subdirectories met before the index was read: whether git
      /// looks inside depends on tracked files below them.
      var undecided: [Directory] = []
    }

    init() { state = Mutex(State()) }

    /// Starts a round of the walk from these directories.
    func start(_ directories: [Directory]) {
      state.withLock { $0.waiting = directories.reversed() }
    }

    func addUndecided(_ directory: Directory) {
      state.withLock { $0.undecided.append(directory) }
    }

    func takeUndecided() -> [Directory] {
      state.withLock { state in
        defer { state.undecided = [] }
        return state.undecided
      }
    }

    /// The next directory to read, or nil when the walk is over. Waits
    /// while the queue is empty but another thread may still add to it.
    func next(poll: (() -> Void)? = nil) -> Directory? {
      while true {
        let (directory, finished): (Directory?, Bool) = state.withLock { state in
          if let directory = state.waiting.popLast() {
            state.busy += 1
            return (directory, false)
          }
          return (nil, state.busy == 0)
        }
        if let directory { return directory }
        if finished || stop.load(ordering: .relaxed) { return nil }
        poll?()
        // Brief: the other threads are reading directories right now.
        usleep(50)
      }
    }

    func done(adding children: [Directory]) {
      state.withLock { state in
        state.waiting.append(contentsOf: children.reversed())
        state.busy -= 1
      }
    }
  }

  /// One thread's part of the walk.
  struct Walker {
    let listing: RecursiveListing
    let shared: Shared
    let slot: Int
    private var query: [UInt8] = []

    init(listing: RecursiveListing, shared: Shared, slot: Int) {
      self.listing = listing
      self.shared = shared
      self.slot = slot
    }

    mutating func work(progress: ((Int) -> Void)?, isCancelled: (() -> Bool)?) {
      var reported = 0
      let shared = shared
      let poll = {
        if let isCancelled, isCancelled() { shared.stop.store(true, ordering: .relaxed) }
      }
      while let directory = shared.next(poll: isCancelled == nil ? nil : poll) {
        poll()
        let children = shared.stop.load(ordering: .relaxed) ? [] : read(directory)
        shared.done(adding: children)
        if let progress {
          let found = shared.found.load(ordering: .relaxed)
          if found - reported >= 500 {
            reported = found
            progress(found)
          }
        }
      }
    }

    static let dotGit = Array(".git".utf8)

    /// Reads one directory into its `items`; returns the subdirectories to
    /// read next.
    mutating func read(_ directory: Directory) -> [Directory] {
      guard let handle = directory.handle, var entries = DirectoryReader.entries(of: directory.handle!) else {
        return []
      }
      directory.handle = nil
      let before = entries.count
      entries.removeAll { $0.name == Self.dotGit }
      if entries.count != before && !directory.listed.isEmpty {
        // A nested repository: its own rules from here down.
        if let nested = IgnoreRules(holding: directory.absolute, handles: listing.threads),
          let path = nested.relative(directory.absolute)
        {
          directory.rules = nested
          directory.repositoryPath = RecursiveListing.directoryPath(path)
        }
      }
      entries = DirectoryReader.inPathOrder(entries)
      let atWorkspaceRoot = directory.relative.isEmpty
      var items: [Directory.Item] = []
      items.reserveCapacity(entries.count)
      var children: [Directory] = []
      var files = 0
      for entry in entries {
        if atWorkspaceRoot
          && FileListing.topLevelIgnored.contains(entry.kind == .directory ? entry.text + "/" : entry.text)
        {
          continue
        }
        switch entry.kind {
        case .directory:
          var undecided = false
          if let rules = directory.rules {
            switch verdict(entry.name, in: directory, rules: rules) {
            case .walked: break
            case .leftOut: continue
            case .undecided: undecided = true
            }
          }
          guard let child = DirectoryReader.openChild(of: handle, entry.name) else { continue }
          let name = entry.text
          let node = Directory(
            listed: directory.listed + entry.name + [0x2F], relative: FileListing.join(directory.relative, name),
            absolute: FileListing.join(directory.absolute, name), handle: child, rules: directory.rules)
          node.repositoryPath = directory.repositoryPath + entry.name + [0x2F]
          items.append(.directory(node))
          if undecided { shared.addUndecided(node) } else { children.append(node) }
        case .file:
          items.append(.file(entry.name))
          files += 1
        case .symlink:
          // Listed only when it leads to a file inside the workspace.
          guard let target = try? listing.root.lookup(relative: FileListing.join(directory.relative, entry.text)),
            case .found(let found) = target, found.kind == .regular
          else { continue }
          items.append(.file(entry.name))
          files += 1
        case .other:
          continue
        }
      }
      directory.items = items
      shared.found.add(files, ordering: .relaxed)
      return children
    }

    enum Verdict {
      case walked, leftOut
      /// Ignored; left out unless tracked files lie below, which only the
      /// index can tell.
      case undecided
    }

    /// Whether git would look inside a subdirectory: not if it is ignored
    /// and holds no tracked file. The cheaper question goes first: the index
    /// lookup once the index is in memory, otherwise the ignore rules (so
    /// the walk need not wait for the index).
    private mutating func verdict(_ name: [UInt8], in directory: Directory, rules: IgnoreRules) -> Verdict {
      query.removeAll(keepingCapacity: true)
      query.append(contentsOf: directory.repositoryPath)
      query.append(contentsOf: name)
      query.append(0x2F)
      let slot = slot
      return RecursiveListing.withCString(query) { path in
        if rules.isIndexReady {
          return !rules.hasTrackedFiles(under: path) && rules.isIgnored(path, slot: slot) ? .leftOut : .walked
        }
        return rules.isIgnored(path, slot: slot) ? .undecided : .walked
      }
    }
  }
}

/// A value handed to other threads whose safety the code using it guarantees
/// (each thread touches only its own part).
struct UncheckedBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
