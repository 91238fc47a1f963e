import Git
import Support

/// What the watcher knows of the workspace: every directory it descended and
/// the status of each entry in it. Changes are found by comparing a fresh
/// read of a directory with this record, so kernel events are only hints of
/// where to look: a lost event costs a rescan, never a wrong answer.
///
/// Every directory is read through a descriptor: the root through
/// `WorkspaceRoot.lookup`, the rest opened from their parent's descriptor
/// without following symlinks. No path string is ever opened. Memory is one
/// record per entry, whatever the number of events.
final class WorkspaceTree {
  /// An entry's status, as far as a change shows in it.
  struct Entry: Equatable {
    var kind: DirectoryEntry.Kind
    var inode: UInt64
    var size: Int64
    var mode: UInt32
    /// Nanoseconds since the epoch.
    var modified: Int64
    var statusChanged: Int64
    /// Hard links: a `.gitignore` with more than one changes through
    /// another name, with no event here.
    var links: UInt64

    init(_ info: stat) {
      switch FileKind(mode: info.st_mode) {
      case .regular: kind = .file
      case .directory: kind = .directory
      case .symlink: kind = .symlink
      default: kind = .other
      }
      inode = UInt64(info.st_ino)
      size = Int64(info.st_size)
      mode = UInt32(info.st_mode)
      links = UInt64(info.st_nlink)
      modified = info.modifiedNanoseconds
      statusChanged = info.statusChangedNanoseconds
    }
  }

  struct Directory {
    var inode: UInt64
    var watch: Int32?
    /// Dropped names (`.git`, the top-level ones) are not here.
    var entries: [[UInt8]: Entry] = [:]
    /// Watches on the `.git` of a repository held here (the root and its
    /// children only: the repositories gitChanges reports).
    var gitWatches: Set<Int32> = []
    var hasGitDirectory = false
    /// Whether that `.git` directory has a watch: its index changing is seen.
    var watchesGitDirectory = false
    /// This directory's own `.git` (a directory or a gitfile), at any depth:
    /// one coming, going or changing turns the directory into a repository
    /// of its own or back, which changes what git status shows for it.
    var git: Entry?
  }

  let root: WorkspaceRoot
  private let registrar: (any WatchRegistrar)?
  /// Nil: every directory is watched.
  private let ignored: IgnoredDirectories?
  private(set) var directories: [String: Directory] = [:]
  /// Directories in `directories`' entries left unread and unwatched
  /// because git ignores them (`IgnoredDirectories`).
  private(set) var skipped: Set<String> = []

  init(root: WorkspaceRoot, registrar: (any WatchRegistrar)?, git: GitWorkspace? = nil) {
    self.root = root
    self.registrar = registrar
    ignored = git.map { IgnoredDirectories(git: $0, root: root.path) }
  }

  /// Whether some directories may be left out by ignore rules.
  var followsIgnoreRules: Bool { ignored != nil }

  /// False when the rule files outside the workspace cannot all be followed
  /// (`IgnoreRulesStamp.isComplete`): then nothing is left out.
  var ruleFilesFollowed = true

  /// The next directory read asks the ignore rules and the index afresh;
  /// the repository handles read so far go back to the pool.
  func refreshIgnoreRules() { ignored?.refresh() }

  /// Reads the whole workspace, placing watches, reporting nothing: the
  /// state later changes are told against. False when the root cannot be read.
  func scanAll() -> Bool {
    guard let (handle, inode) = openDirectory("") else { return false }
    directories = [:]
    skipped = []
    ignored?.refresh()
    var ignored = ChangeSet()
    var git = false
    scanNew("", handle: handle, inode: inode, report: false, &ignored, &git)
    self.ignored?.refresh()
    return true
  }

  /// Reads the directories hinted at again and records what differs.
  /// `names` nil: the whole directory, else only those names in it.
  /// False when the workspace root is gone.
  func rescan(_ directory: String, names: Set<[UInt8]>?, _ changes: inout ChangeSet, _ git: inout Bool) -> Bool {
    guard let known = directories[directory] else { return true }
    guard let (handle, inode) = openDirectory(directory), inode == known.inode else {
      // Gone or replaced: its parent's own events (or rescan) settle it;
      // the root has no parent.
      return !directory.isEmpty
    }
    if known.watch == nil, let watch = registrar?.watch(handle, as: .directory(directory)) {
      directories[directory]?.watch = watch
    }
    let isRepositoryLevel = Self.holdsReportedRepository(directory)
    var current: [[UInt8]: Entry?] = [:]
    var gitSeen: Bool?
    if let names {
      for name in names {
        if name == Self.gitName {
          let now = Self.status(in: handle, name).map(Entry.init)
          gitSeen = now?.kind == .directory
          noteGit(now, in: directory, &changes)
        } else if !Self.isDropped(name, in: directory, kind: nil) {
          current[name] = .some(Self.status(in: handle, name).map(Entry.init))
        }
      }
    } else {
      guard let listing = DirectoryReader.entries(of: handle) else { return true }
      gitSeen = false
      var gitEntry: Entry?
      for entry in listing {
        if entry.name == Self.gitName {
          gitSeen = entry.kind == .directory
          gitEntry = Self.status(in: handle, entry.name).map(Entry.init)
          continue
        }
        if Self.isDropped(entry.name, in: directory, kind: entry.kind) { continue }
        current[entry.name] = .some(Self.status(in: handle, entry.name).map(Entry.init))
      }
      for name in known.entries.keys where current[name] == nil { current[name] = .some(nil) }
      noteGit(gitEntry, in: directory, &changes)
    }
    if let gitSeen, isRepositoryLevel {
      if gitSeen != known.hasGitDirectory { git = true }
      directories[directory]?.hasGitDirectory = gitSeen
      if gitSeen { watchGit(directory, in: handle) } else { directories[directory]?.watchesGitDirectory = false }
    }
    for (name, now) in current {
      let before = directories[directory]?.entries[name]
      switch (before, now) {
      case (nil, nil):
        break
      case (nil, let now?):
        created(name, now, in: directory, handle: handle, &changes, &git)
      case (let before?, nil):
        deleted(name, before, in: directory, &changes)
      case (let before?, let now?):
        if before.kind != now.kind || (before.kind == .directory && before.inode != now.inode) {
          deleted(name, before, in: directory, &changes)
          created(name, now, in: directory, handle: handle, &changes, &git)
        } else if before != now {
          directories[directory]?.entries[name] = now
          // A directory's own times move with its content: not a change of it.
          if now.kind != .directory { changes.add(Self.path(directory, name, isDirectory: false), .changed) }
        }
      }
    }
    return true
  }

  /// The next look at `directory` (not the root) takes whatever is there
  /// for a new directory, even with the inode number it had: the kernel
  /// reuses a deleted directory's number at once, and a directory made in
  /// its place has neither its watch nor its entries.
  func forgetIdentity(of directory: String) {
    let bytes = Array(directory.utf8)
    let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
    let parent = slash.map { String(decoding: bytes[..<$0], as: UTF8.self) } ?? ""
    let name = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
    if directories[parent]?.entries[name]?.kind == .directory { directories[parent]?.entries[name]?.inode = 0 }
  }

  /// Reads every known directory again, parents first. False when the root is gone.
  func rescanAll(_ changes: inout ChangeSet, _ git: inout Bool) -> Bool {
    let known = Set(directories.keys)
    var queue = [""]
    while let directory = queue.popLast() {
      guard rescan(directory, names: nil, &changes, &git) else { return false }
      // Subdirectories found just now were read whole already.
      for (name, entry) in directories[directory]?.entries ?? [:] where entry.kind == .directory {
        let child = Self.join(directory, name)
        if known.contains(child) { queue.append(child) }
      }
    }
    return true
  }

  /// Settles again which directories are left out, after what decides it
  /// may have moved: `rules` (a rule file, the repositories), every known
  /// directory below depth 1; otherwise (the index) only those left out,
  /// which may now hold a tracked file. A directory taken in is read and
  /// watched and what it holds reported created; one left out now loses its
  /// watches and what it held is reported deleted. Parents first, so a
  /// directory left out settles everything below it.
  func reconsiderIgnored(rules: Bool, _ changes: inout ChangeSet, _ git: inout Bool) {
    guard let ignored else { return }
    ignored.refresh()
    defer { ignored.refresh() }
    var candidates = Array(skipped)
    if rules { candidates += directories.keys.filter { $0.utf8.contains(0x2F) } }
    let ordered = candidates.map { (path: $0, depth: $0.utf8.count(where: { $0 == 0x2F })) }.sorted { a, b in
      a.depth != b.depth ? a.depth < b.depth : [UInt8].bytewiseLess(Array(a.path.utf8), Array(b.path.utf8))
    }
    for (path, _) in ordered {
      if skipped.contains(path) {
        guard !leavesOut(path), let inode = knownInode(of: path), let (handle, now) = openDirectory(path),
          now == inode
        else { continue }
        skipped.remove(path)
        scanNew(path, handle: handle, inode: inode, report: true, &changes, &git)
      } else if directories[path] != nil, leavesOut(path) {
        removeSubtree(path, &changes)
        skipped.insert(path)
      }
    }
  }

  /// Whether the directory at `path` is left out now: its rules say so and
  /// nothing that decides them may change unseen.
  private func leavesOut(_ path: String) -> Bool {
    guard let ignored, ruleFilesFollowed, !hasLinkedGitignore(above: path) else { return false }
    return ignored.skips(path, gitState: gitState)
  }

  /// What is known of the `.git` of `directory`.
  private func gitState(_ directory: String) -> IgnoredDirectories.GitState {
    guard let known = directories[directory], let git = known.git else { return .none }
    return git.kind == .directory && known.watchesGitDirectory ? .watched : .unwatched
  }

  /// Whether a `.gitignore` in a directory above `path` is a symlink or has
  /// other hard links: its rules may then change with no event here.
  private func hasLinkedGitignore(above path: String) -> Bool {
    func linked(_ directory: String) -> Bool {
      directories[directory]?.entries[Self.gitignoreName].map(Self.isLinked) ?? false
    }
    if linked("") { return true }
    let bytes = Array(path.utf8)
    for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
      if linked(String(decoding: bytes[..<offset], as: UTF8.self)) { return true }
    }
    return false
  }

  /// Whether the file at `path` (relative, no trailing `/`) is, as last
  /// read, a symlink or a file with other hard links.
  func isLinked(_ path: String) -> Bool {
    let bytes = Array(path.utf8)
    let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
    let parent = slash.map { String(decoding: bytes[..<$0], as: UTF8.self) } ?? ""
    let name = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
    return directories[parent]?.entries[name].map(Self.isLinked) ?? false
  }

  /// Whether any `.gitignore` or `.gitattributes` read is linked (one look
  /// per directory).
  var holdsLinkedRuleFile: Bool {
    directories.values.contains { directory in
      [Self.gitignoreName, Self.gitattributesName].contains { directory.entries[$0].map(Self.isLinked) ?? false }
    }
  }

  /// A symlink's target, or a hard link's other names, can change with no
  /// event for the name watched here.
  private static func isLinked(_ entry: Entry) -> Bool { entry.kind == .symlink || entry.links > 1 }

  /// The inode its parent's entry records for a directory, if it is one.
  private func knownInode(of directory: String) -> UInt64? {
    let bytes = Array(directory.utf8)
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
    let parent = String(decoding: bytes[..<slash], as: UTF8.self)
    guard let entry = directories[parent]?.entries[Array(bytes[(slash + 1)...])], entry.kind == .directory else {
      return nil
    }
    return entry.inode
  }

  /// Watches again what a repository's `.git/refs` holds now.
  func rewatchGit(_ repository: String) {
    guard directories[repository] != nil, let (handle, _) = openDirectory(repository) else { return }
    watchGit(repository, in: handle)
  }

  // MARK: Changes

  private func created(
    _ name: [UInt8], _ entry: Entry, in directory: String, handle: FileDescriptor, _ changes: inout ChangeSet,
    _ git: inout Bool
  ) {
    directories[directory]?.entries[name] = entry
    changes.add(Self.path(directory, name, isDirectory: entry.kind == .directory), .created)
    guard entry.kind == .directory, let childPath = Self.descendable(directory, name),
      let child = DirectoryReader.openChild(of: handle, name), let info = child.status(),
      UInt64(info.st_ino) == entry.inode
    else { return }
    // Watched before it is read: what lands in it meanwhile is either read
    // now or reported by the watch.
    scanNew(childPath, handle: child, inode: entry.inode, report: true, &changes, &git)
  }

  private func deleted(_ name: [UInt8], _ entry: Entry, in directory: String, _ changes: inout ChangeSet) {
    directories[directory]?.entries[name] = nil
    changes.add(Self.path(directory, name, isDirectory: entry.kind == .directory), .deleted)
    if entry.kind == .directory { removeSubtree(Self.join(directory, name), &changes) }
  }

  /// Reads a directory new to the tree and everything below it.
  private func scanNew(
    _ top: String, handle: FileDescriptor, inode: UInt64, report: Bool, _ changes: inout ChangeSet, _ git: inout Bool
  ) {
    // Subdirectories are opened when their turn comes, from the parent's
    // descriptor, so a wide tree does not hold a descriptor per directory.
    var pending: [(path: String, parent: FileDescriptor?, name: [UInt8], handle: FileDescriptor?, inode: UInt64)] = [
      (top, nil, [], handle, inode)
    ]
    while let next = pending.popLast() {
      if leavesOut(next.path) {
        skipped.insert(next.path)
        continue
      }
      guard let handle = next.handle ?? next.parent.flatMap({ DirectoryReader.openChild(of: $0, next.name) }),
        let info = handle.status(), UInt64(info.st_ino) == next.inode
      else { continue }
      var directory = Directory(inode: next.inode)
      directory.watch = registrar?.watch(handle, as: .directory(next.path))
      let listing = DirectoryReader.entries(of: handle) ?? []
      for item in listing {
        if item.name == Self.gitName {
          directory.git = Self.status(in: handle, item.name).map(Entry.init).map(Self.gitIdentity)
          if report && directory.git != nil { changes.addRepository(next.path) }
          if item.kind == .directory && Self.holdsReportedRepository(next.path) {
            directory.hasGitDirectory = true
            if report { git = true }
          }
          continue
        }
        if Self.isDropped(item.name, in: next.path, kind: item.kind) { continue }
        guard let status = Self.status(in: handle, item.name) else { continue }
        let entry = Entry(status)
        directory.entries[item.name] = entry
        if report {
          changes.add(Self.path(next.path, item.name, isDirectory: entry.kind == .directory), .created)
        }
        if entry.kind == .directory, let childPath = Self.descendable(next.path, item.name) {
          pending.append((childPath, handle, item.name, nil, entry.inode))
        }
      }
      directories[next.path] = directory
      if directory.hasGitDirectory { watchGit(next.path, in: handle) }
    }
  }

  /// Records what a directory's `.git` is now, reporting a change of it.
  private func noteGit(_ now: Entry?, in directory: String, _ changes: inout ChangeSet) {
    let now = now.map(Self.gitIdentity)
    guard directories[directory] != nil, directories[directory]?.git != now else { return }
    directories[directory]?.git = now
    changes.addRepository(directory)
  }

  /// What of a `.git` entry matters: a gitfile's every change, but only a
  /// directory's identity (its times move with every lock git takes in it).
  private static func gitIdentity(_ entry: Entry) -> Entry {
    guard entry.kind == .directory else { return entry }
    var identity = entry
    identity.size = 0
    identity.modified = 0
    identity.statusChanged = 0
    identity.links = 0
    return identity
  }

  /// Forgets a directory and everything below it, reporting each as deleted.
  private func removeSubtree(_ top: String, _ changes: inout ChangeSet) {
    var pending = [top]
    while let path = pending.popLast() {
      skipped.remove(path)
      guard let directory = directories.removeValue(forKey: path) else { continue }
      if let watch = directory.watch { registrar?.unwatch(watch, for: .directory(path)) }
      for watch in directory.gitWatches {
        registrar?.unwatch(watch, for: .gitDirectory(repository: path))
        registrar?.unwatch(watch, for: .gitRefs(repository: path))
        registrar?.unwatch(watch, for: .gitInfo(repository: path))
      }
      for (name, entry) in directory.entries {
        changes.add(Self.path(path, name, isDirectory: entry.kind == .directory), .deleted)
        if entry.kind == .directory { pending.append(Self.join(path, name)) }
      }
    }
  }

  /// Watches `.git` itself (for HEAD, index, packed-refs, config), every
  /// directory under `.git/refs`, and `.git/info` (for exclude and
  /// attributes). A `.git` file (a worktree's or a submodule's `gitdir:`)
  /// is not followed: it may point anywhere; nor is a symlink in `.git`.
  private func watchGit(_ repository: String, in handle: FileDescriptor) {
    directories[repository]?.watchesGitDirectory = false
    guard let registrar, let gitDirectory = DirectoryReader.openChild(of: handle, Self.gitName) else { return }
    var watches: Set<Int32> = []
    let gitWatch = registrar.watch(gitDirectory, as: .gitDirectory(repository: repository))
    if let gitWatch { watches.insert(gitWatch) }
    var pending: [FileDescriptor] = []
    if let refs = DirectoryReader.openChild(of: gitDirectory, Array("refs".utf8)) { pending.append(refs) }
    while let next = pending.popLast() {
      if let watch = registrar.watch(next, as: .gitRefs(repository: repository)) { watches.insert(watch) }
      for item in DirectoryReader.entries(of: next) ?? [] where item.kind == .directory {
        if let child = DirectoryReader.openChild(of: next, item.name) { pending.append(child) }
      }
    }
    if let info = DirectoryReader.openChild(of: gitDirectory, Array("info".utf8)),
      let watch = registrar.watch(info, as: .gitInfo(repository: repository))
    {
      watches.insert(watch)
    }
    directories[repository]?.gitWatches = watches
    directories[repository]?.watchesGitDirectory = gitWatch != nil
  }

  // MARK: Names

  static let gitName: [UInt8] = Array(".git".utf8)
  static let gitignoreName: [UInt8] = Array(".gitignore".utf8)
  static let gitattributesName: [UInt8] = Array(".gitattributes".utf8)

  /// The names listing drops: `.git` everywhere, FileListing's top-level
  /// names at the root. `kind` nil: not known yet (the status decides).
  static func isDropped(_ name: [UInt8], in directory: String, kind: DirectoryEntry.Kind?) -> Bool {
    if name == gitName { return true }
    guard directory.isEmpty else { return false }
    let text = String(decoding: name, as: UTF8.self)
    if kind == nil {
      return FileListing.topLevelIgnored.contains(text) || FileListing.topLevelIgnored.contains(text + "/")
    }
    return FileListing.topLevelIgnored.contains(kind == .directory ? text + "/" : text)
  }

  /// gitChanges reports the workspace's repository and those of its direct children.
  static func holdsReportedRepository(_ directory: String) -> Bool {
    directory.isEmpty || !directory.utf8.contains(0x2F)
  }

  static func join(_ directory: String, _ name: [UInt8]) -> String {
    let text = String(decoding: name, as: UTF8.self)
    return directory.isEmpty ? text : directory + "/" + text
  }

  static func path(_ directory: String, _ name: [UInt8], isDirectory: Bool) -> String {
    join(directory, name) + (isDirectory ? "/" : "")
  }

  /// The relative path of a subdirectory to descend, or nil when its name
  /// is not UTF-8 (a relative path string could not name it again).
  static func descendable(_ directory: String, _ name: [UInt8]) -> String? {
    let text = String(decoding: name, as: UTF8.self)
    guard Array(text.utf8) == name else { return nil }
    return directory.isEmpty ? text : directory + "/" + text
  }

  /// The status of a name in an open directory, the name itself (no link followed).
  static func status(in directory: FileDescriptor, _ name: [UInt8]) -> stat? {
    var info = stat()
    let result = DirectoryReader.withCString(name) { fstatat(directory.raw, $0, &info, AT_SYMLINK_NOFOLLOW) }
    return result == 0 ? info : nil
  }

  /// A known directory, opened through the workspace's descriptor walk.
  private func openDirectory(_ relative: String) -> (FileDescriptor, UInt64)? {
    guard case .found(let item)? = try? root.lookup(relative: relative, followFinalSymlink: false),
      item.kind == .directory, case .success(let handle) = item.openDirectory()
    else { return nil }
    return (handle, UInt64(item.info.st_ino))
  }
}
