import Support
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
/// 2. Verdicts: the files found are split evenly between the threads, which
///    keep tracked files and ask about the others, each thread through its
///    own repository handle.
/// 3. Output: the files in walk order, which is code-point path order: each
///    directory's entries are sorted by name bytes with `/` after directory
///    names, and read depth-first.
///
/// Names stay in one byte buffer per directory, and files are handled as
/// plain offsets: a listing touches every name several times, and reference
/// counting per name was a fifth of its time.
struct RecursiveListing {
  let root: WorkspaceRoot
  /// Which nested repositories may lend their rules.
  let git: GitWorkspace
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
    /// Open until read. Only the listed directory starts with one: the
    /// others are opened when their turn comes, from `parent` (held until
    /// then), so a directory with thousands of subdirectories does not hold
    /// thousands of descriptors.
    var handle: FileDescriptor?
    var parent: FileDescriptor?
    /// The name in `parent`.
    let name: [UInt8]
    /// The rules of the repository holding it, if any.
    var rules: IgnoreRules?
    /// The directory relative to `rules.workdir`: empty or ending in `/`.
    var repositoryPath: [UInt8] = []
    /// Every name read, back to back (a directory's followed by `/`).
    var names: [UInt8] = []
    /// Files and subdirectories, in path order.
    var items: [Item] = []
    var children: [Directory] = []

    struct Item {
      /// The name, in `names`.
      var start: Int32
      var count: Int32
      /// Its index in `children`, or -1 for a file.
      var child: Int32
    }

    /// The listed directory, open.
    init(listed: [UInt8], relative: String, absolute: String, handle: FileDescriptor, rules: IgnoreRules?) {
      self.listed = listed
      self.relative = relative
      self.absolute = absolute
      self.handle = handle
      self.name = []
      self.rules = rules
    }

    /// A subdirectory, to be opened from `parent` when it is read.
    init(listed: [UInt8], relative: String, absolute: String, parent: FileDescriptor, name: [UInt8], rules: IgnoreRules?) {
      self.listed = listed
      self.relative = relative
      self.absolute = absolute
      self.parent = parent
      self.name = name
      self.rules = rules
    }

    /// Opens it (without following a symlink put in its place since it was
    /// listed), letting go of the parent.
    func open() -> FileDescriptor? {
      defer {
        handle = nil
        parent = nil
      }
      if let handle { return handle }
      guard let parent else { return nil }
      return DirectoryReader.openChild(of: parent, name)
    }
  }

  /// A file found by the walk: its directory (in `Flattened.directories`)
  /// and its name there.
  struct File {
    var directory: Int32
    var start: Int32
    var count: Int32
  }

  /// Lists every file below `directory` that git would not leave out.
  func run(
    directory: Directory, progress: (Int) -> Void, isCancelled: () -> Bool
  ) throws -> [String] {
    if let rules = directory.rules, let path = rules.relative(directory.absolute) {
      directory.repositoryPath = Self.directoryPath(path)
    }
    try walk(directory, progress: progress, isCancelled: isCancelled)

    var directories: [Directory] = []
    var files: [File] = []
    Self.flatten(directory, into: &directories, &files)
    let ignored = verdicts(directories, files)
    if isCancelled() { throw CancellationError() }

    var output: [String] = []
    output.reserveCapacity(files.count)
    var current: Int32 = -1
    var listed: [UInt8] = []
    var names: [UInt8] = []
    for (position, file) in files.enumerated() where !ignored[position] {
      if file.directory != current {
        current = file.directory
        listed = directories[Int(current)].listed
        names = directories[Int(current)].names
      }
      output.append(Self.string(prefix, listed, names, file))
    }
    return output
  }

  // MARK: 1. The walk

  /// Reads every directory git would look into, in rounds: a round ends
  /// with the directories whose verdict had to wait for an index (an ignored
  /// directory may still hold tracked files), decided then and read by the
  /// next round. Slot 0 is this thread: it reads the index first, and it
  /// alone reports progress and polls cancellation (the task is only visible
  /// from its own thread).
  private func walk(_ top: Directory, progress: (Int) -> Void, isCancelled: () -> Bool) throws {
    let shared = WalkQueue()
    var round = [top]
    var first = true
    while !round.isEmpty {
      shared.start(round)
      let readIndex = first
      withoutActuallyEscaping(progress) { progress in
        withoutActuallyEscaping(isCancelled) { isCancelled in
          let callbacks = UncheckedBox((progress, isCancelled))
          Parallel.run(threads) { slot in
            if slot == 0 && readIndex { top.rules?.prepareIndex() }
            var walker = Walker(listing: self, shared: shared, slot: slot)
            walker.work(progress: slot == 0 ? callbacks.value.0 : nil, isCancelled: slot == 0 ? callbacks.value.1 : nil)
          }
        }
      }
      if shared.stop.isSet || isCancelled() { throw CancellationError() }
      round = shared.takeUndecided().filter { child in
        guard let rules = child.rules, DirectoryReader.withCString(child.repositoryPath, rules.hasTrackedFiles(under:)) else {
          child.parent = nil
          return false
        }
        return true
      }
      first = false
    }
    // The last word is the total, whatever share of the walk slot 0 did.
    progress(shared.found.load(ordering: .relaxed))
  }

  /// The queue of directories still to read, and what the threads share.
  final class WalkQueue: Sendable {
    private let state = Mutex(State())
    let stop = CancellationFlag()
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

    /// Starts a round of the walk from these directories.
    func start(_ directories: [Directory]) {
      state.withLock { $0.waiting = directories.reversed() }
    }

    /// The next directory to read, or nil when the walk is over. Waits
    /// while the queue is empty but another thread may still add to it.
    func next(poll: (() -> Void)?) -> Directory? {
      while true {
        let (directory, finished): (Directory?, Bool) = state.withLock { state in
          if let directory = state.waiting.popLast() {
            state.busy += 1
            return (directory, false)
          }
          return (nil, state.busy == 0)
        }
        if let directory { return directory }
        if finished || stop.isSet { return nil }
        poll?()
        // Brief: the other threads are reading directories right now.
        usleep(50)
      }
    }

    func done(adding children: [Directory], undecided: [Directory]) {
      state.withLock { state in
        state.waiting.append(contentsOf: children.reversed())
        state.undecided.append(contentsOf: undecided)
        state.busy -= 1
      }
    }

    func takeUndecided() -> [Directory] {
      state.withLock { state in
        defer { state.undecided = [] }
        return state.undecided
      }
    }
  }

  /// One thread's part of the walk.
  struct Walker {
    let listing: RecursiveListing
    let shared: WalkQueue
    let slot: Int
    private var query: [UInt8] = []

    init(listing: RecursiveListing, shared: WalkQueue, slot: Int) {
      self.listing = listing
      self.shared = shared
      self.slot = slot
    }

    mutating func work(progress: ((Int) -> Void)?, isCancelled: (() -> Bool)?) {
      var reported = 0
      let shared = shared
      let poll = {
        if let isCancelled, isCancelled() { shared.stop.set() }
      }
      while let directory = shared.next(poll: isCancelled == nil ? nil : poll) {
        poll()
        var next: (walk: [Directory], undecided: [Directory]) = ([], [])
        if !shared.stop.isSet { next = read(directory) }
        shared.done(adding: next.walk, undecided: next.undecided)
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

    /// Reads one directory: its names, sorted, and a child `Directory`
    /// for each subdirectory git would look into. Returns the children to
    /// read next, and apart those whose answer needs the index first.
    mutating func read(_ directory: Directory) -> (walk: [Directory], undecided: [Directory]) {
      guard let handle = directory.open(), let listing = DirectoryReader.sortedNames(of: handle) else { return ([], []) }
      // `.git` is never listed nor entered; it marks a nested repository.
      let isDotGit = { (entry: DirectoryReader.SortedNames.Entry) in listing.name(entry).elementsEqual(Self.dotGit) }
      if !directory.listed.isEmpty && listing.entries.contains(where: isDotGit) { adoptNestedRules(directory) }
      let names = listing.names
      let atWorkspaceRoot = directory.relative.isEmpty
      var items: [Directory.Item] = []
      items.reserveCapacity(listing.entries.count)
      var children: [Directory] = []
      var walk: [Directory] = []
      var undecided: [Directory] = []
      var files = 0
      for entry in listing.entries where !isDotGit(entry) {
        let name = names[Int(entry.start)..<Int(entry.start + entry.count)]
        if atWorkspaceRoot && FileListing.topLevelIgnored.contains(String(decoding: name, as: UTF8.self)) {
          continue
        }
        switch entry.kind {
        case .directory:
          // `name` ends in `/` here.
          guard let found = subdirectory(name, of: directory, handle: handle) else { continue }
          items.append(Directory.Item(start: entry.start, count: entry.count - 1, child: Int32(children.count)))
          children.append(found.child)
          if found.waits { undecided.append(found.child) } else { walk.append(found.child) }
        case .file:
          items.append(Directory.Item(start: entry.start, count: entry.count, child: -1))
          files += 1
        case .symlink:
          guard leadsToFile(name, in: directory) else { continue }
          items.append(Directory.Item(start: entry.start, count: entry.count, child: -1))
          files += 1
        case .other:
          continue
        }
      }
      directory.names = names
      directory.items = items
      directory.children = children
      shared.found.add(files, ordering: .relaxed)
      return (walk, undecided)
    }

    /// A directory holding `.git`: a nested repository's rules apply from
    /// here down. A `.git` that cannot be opened, or one reaching outside
    /// the workspace, leaves the enclosing repository's rules.
    private func adoptNestedRules(_ directory: Directory) {
      guard let nested = IgnoreRules(nestedAt: directory.absolute, in: listing.git, handles: listing.threads),
        nested.workdir == directory.absolute
      else { return }
      directory.rules = nested
      directory.repositoryPath = []
    }

    /// The child to read for the subdirectory `name` (ending in `/`), and
    /// whether its verdict waits for the index; nil when git leaves it out.
    private mutating func subdirectory(
      _ name: ArraySlice<UInt8>, of directory: Directory, handle: FileDescriptor
    ) -> (child: Directory, waits: Bool)? {
      var waits = false
      if let rules = directory.rules {
        switch verdict(name, in: directory, rules: rules) {
        case .walked: break
        case .leftOut: return nil
        case .undecided: waits = true
        }
      }
      let bare = name.dropLast()
      let text = String(decoding: bare, as: UTF8.self)
      let child = Directory(
        listed: directory.listed + name, relative: FileListing.join(directory.relative, text),
        absolute: FileListing.join(directory.absolute, text), parent: handle, name: Array(bare),
        rules: directory.rules)
      child.repositoryPath = directory.repositoryPath + name
      return (child, waits)
    }

    /// A symlink is listed only when it leads to a file inside the workspace.
    private func leadsToFile(_ name: ArraySlice<UInt8>, in directory: Directory) -> Bool {
      let path = FileListing.join(directory.relative, String(decoding: name, as: UTF8.self))
      return listing.root.linkTarget(path)?.kind == .regular
    }

    enum Verdict {
      case walked, leftOut
      /// Ignored; left out unless tracked files lie below, which only the
      /// index can tell.
      case undecided
    }

    /// Whether git would look inside a subdirectory (`name` ends in `/`):
    /// not if it is ignored and holds no tracked file. The cheaper question
    /// goes first: the index lookup once the index is in memory, otherwise
    /// the ignore rules (so the walk need not wait for the index).
    private mutating func verdict(_ name: ArraySlice<UInt8>, in directory: Directory, rules: IgnoreRules) -> Verdict {
      query.removeAll(keepingCapacity: true)
      query.append(contentsOf: directory.repositoryPath)
      query.append(contentsOf: name)
      let slot = slot
      return DirectoryReader.withCString(query) { path in
        if rules.isIndexReady {
          return !rules.hasTrackedFiles(under: path) && rules.isIgnored(path, slot: slot) ? .leftOut : .walked
        }
        return rules.isIgnored(path, slot: slot) ? .undecided : .walked
      }
    }
  }

  // MARK: 2. Verdicts

  /// Every directory read, and every file in them, in path order. With
  /// a stack of its own: a deep tree must not exhaust the thread's.
  static func flatten(_ top: Directory, into directories: inout [Directory], _ files: inout [File]) {
    var stack: [(directory: Directory, index: Int32, next: Int)] = [(top, 0, 0)]
    directories.append(top)
    while let (directory, index, next) = stack.last {
      guard next < directory.items.count else {
        stack.removeLast()
        continue
      }
      stack[stack.count - 1].next += 1
      let item = directory.items[next]
      if item.child < 0 {
        files.append(File(directory: index, start: item.start, count: item.count))
      } else {
        let child = directory.children[Int(item.child)]
        stack.append((child, Int32(directories.count), 0))
        directories.append(child)
      }
    }
  }

  /// Which files git ignores (untracked, and matched by its rules), asked
  /// in even shares on every thread.
  private func verdicts(_ directories: [Directory], _ files: [File]) -> [Bool] {
    var ignored = [Bool](repeating: false, count: files.count)
    guard !files.isEmpty else { return ignored }
    let threads = min(threads, files.count)
    let share = (files.count + threads - 1) / threads
    ignored.withUnsafeMutableBufferPointer { verdicts in
      let verdicts = UncheckedBox(verdicts)
      let shared = UncheckedBox((directories, files))
      Parallel.run(threads) { slot in
        let (directories, files) = shared.value
        var query: [UInt8] = []
        // Files come in path order: one index cursor per repository, kept
        // aside while a nested repository's files come by.
        var cursors: [ObjectIdentifier: IgnoreRules.Cursor] = [:]
        var cursor = IgnoreRules.Cursor()
        var current: Int32 = -1
        var rules: IgnoreRules?
        var repositoryPath: [UInt8] = []
        var names: [UInt8] = []
        for position in (slot * share)..<min(files.count, (slot + 1) * share) {
          let file = files[position]
          if file.directory != current {
            current = file.directory
            let directory = directories[Int(current)]
            if directory.rules !== rules {
              if let rules { cursors[ObjectIdentifier(rules)] = cursor }
              rules = directory.rules
              cursor = rules.flatMap { cursors[ObjectIdentifier($0)] } ?? IgnoreRules.Cursor()
            }
            repositoryPath = directory.repositoryPath
            names = directory.names
          }
          guard let rules else { continue }
          query.removeAll(keepingCapacity: true)
          query.append(contentsOf: repositoryPath)
          query.append(contentsOf: names[Int(file.start)..<Int(file.start + file.count)])
          verdicts.value[position] = DirectoryReader.withCString(query) {
            !rules.isTracked($0, cursor: &cursor) && rules.isIgnored($0, slot: slot)
          }
        }
      }
    }
    return ignored
  }

  // MARK: Helpers

  /// `path` as bytes ending in `/`, or empty.
  static func directoryPath(_ path: String) -> [UInt8] {
    var bytes = Array(path.utf8)
    if !bytes.isEmpty && bytes.last != 0x2F { bytes.append(0x2F) }
    return bytes
  }

  /// `prefix + listed + name` as a String, copied once.
  static func string(_ prefix: [UInt8], _ listed: [UInt8], _ names: [UInt8], _ file: File) -> String {
    let start = Int(file.start)
    let count = Int(file.count)
    return String(unsafeUninitializedCapacity: prefix.count + listed.count + count) { buffer in
      var end = buffer.initialize(fromContentsOf: prefix)
      end += UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: listed)
      end += names.withUnsafeBufferPointer { names in
        UnsafeMutableBufferPointer(rebasing: buffer[end...])
          .initialize(fromContentsOf: UnsafeBufferPointer(rebasing: names[start..<start + count]))
      }
      return end
    }
  }
}
