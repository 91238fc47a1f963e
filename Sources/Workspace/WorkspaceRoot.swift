import Support

/// Why a client path was refused.
public enum PathError: Error, Sendable, Equatable {
  /// It leaves the workspace (absolute elsewhere, `..`, or a symlink out): -32014.
  case outsideWorkspace
  /// It cannot name a file at all (a NUL byte): -32014 as well, never read.
  case invalid(String)
}

/// What an opened object is.
public enum FileKind: Sendable, Equatable {
  case regular, directory, symlink, fifo, socket, characterDevice, blockDevice, unknown

  init(mode: mode_t) {
    switch mode & S_IFMT {
    case S_IFREG: self = .regular
    case S_IFDIR: self = .directory
    case S_IFLNK: self = .symlink
    case S_IFIFO: self = .fifo
    case S_IFSOCK: self = .socket
    case S_IFCHR: self = .characterDevice
    case S_IFBLK: self = .blockDevice
    default: self = .unknown
    }
  }
}

/// The one place client paths become file system objects. Every method that
/// takes a path resolves it here.
///
/// Paths are walked from the root with `openat(O_PATH | O_NOFOLLOW)` one
/// component at a time. A symlink is read (`readlinkat` on the link's own
/// descriptor) and its target walked the same way; `..` pops a directory we
/// hold open rather than asking the file system, so neither `..` nor a link
/// (relative or absolute) can climb above the root, and a directory swapped
/// for a link after we checked it is never followed: the descriptor we
/// hold is the one we checked.
public struct WorkspaceRoot: Sendable {
  /// The workspace's real path.
  public let path: String

  public init(realPath: String) {
    var trimmed = realPath
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    self.path = trimmed
  }

  /// Walks to a client path and holds what it finds open.
  /// - Parameter followFinalSymlink: when false and the last component is a
  ///   symlink, the link itself is returned (kind `.symlink`).
  public func lookup(_ clientPath: String, followFinalSymlink: Bool = true) throws(PathError) -> Lookup {
    if clientPath.utf8.contains(0) { throw .invalid("NUL byte in path") }
    var text = Substring(clientPath)
    if text.utf8.first == Self.slash {
      // Absolute paths are accepted only inside the workspace.
      guard let rest = relativeToRoot(text) else { throw .outsideWorkspace }
      text = rest
    }
    return try walk(components: Self.components(text), followFinalSymlink: followFinalSymlink)
  }

  /// Walks a path that is already relative to the root (one the bridge made
  /// itself, e.g. while listing).
  public func lookup(relative: String, followFinalSymlink: Bool = true) throws(PathError) -> Lookup {
    try walk(components: Self.components(Substring(relative)), followFinalSymlink: followFinalSymlink)
  }

  /// What a symlink a walk meets at `relative` leads to, resolved as a
  /// client's path would be: nil when it is broken or leads out of the
  /// workspace. The listing and the zip walk both decide their links by it.
  func linkTarget(_ relative: String) -> WorkspaceItem? {
    guard case .found(let target)? = try? lookup(relative: relative) else { return nil }
    return target
  }

  /// The directory's path on disk, for libgit2's ignore rules, which take
  /// nothing but paths. Directories only; no file is ever read by it here.
  func pathForIgnoreRules(_ directory: WorkspaceItem) -> String {
    directory.relative.isRoot ? path : (path == "/" ? "/" : path + "/") + directory.relative.text
  }

  private static let slash = UInt8(ascii: "/")

  /// The components that mean something, last one first: split on the `/`
  /// *byte* (a `Character` split would keep `x\u{600}/y` whole, a grapheme
  /// cluster the kernel still splits, following the link `x\u{600}`), with
  /// empty and `.` components dropped.
  private static func components(_ text: Substring) -> [String] {
    var result: [String] = []
    for part in text.utf8.split(separator: slash, omittingEmptySubsequences: true).reversed() {
      if part.count == 1 && part.first == UInt8(ascii: ".") { continue }
      result.append(String(Substring(part)))
    }
    return result
  }

  private static func isDotDot(_ component: String) -> Bool {
    component.utf8.elementsEqual("..".utf8)
  }

  /// The part of an absolute path below the root, or nil when it is not
  /// below it. Compared byte for byte: canonically equivalent text is
  /// another name.
  private func relativeToRoot(_ absolute: Substring) -> Substring? {
    if path == "/" { return Substring(absolute.utf8.dropFirst()) }
    guard absolute.utf8.starts(with: path.utf8) else { return nil }
    let rest = absolute.utf8.dropFirst(path.utf8.count)
    if rest.isEmpty { return Substring(rest) }
    return rest.first == Self.slash ? Substring(rest.dropFirst()) : nil
  }

  private static let maxSymlinkHops = 40

  private func walk(components: [String], followFinalSymlink: Bool) throws(PathError) -> Lookup {
    let rootFD = open(path, openPathFlags | O_DIRECTORY)
    guard rootFD >= 0 else { return .failed(OpenFailure(errno: errno)) }
    let root = FileDescriptor(rootFD)
    // Directories below the root that we hold, with their names.
    var stack: [(fd: FileDescriptor, name: String)] = []
    // Components still to walk, last one first.
    var pending = components
    var hops = 0

    // Nothing is at `component`: what is left is a name, never walked nor
    // opened. `..` below a missing component names no place at all; it is
    // only counted, so that climbing above the root is still refused.
    func missing(_ component: String) throws(PathError) -> Lookup {
      var names: [String]? = stack.map(\.name) + [component]
      var depth = stack.count + 1
      while let next = pending.popLast() {
        if Self.isDotDot(next) {
          depth -= 1
          if depth < 0 { throw .outsideWorkspace }
          names = nil
        } else {
          depth += 1
          names?.append(next)
        }
      }
      return .missing(names.map(RelativeName.init))
    }

    while let component = pending.popLast() {
      if Self.isDotDot(component) {
        if stack.isEmpty { throw .outsideWorkspace }
        stack.removeLast()
        continue
      }
      let isLast = pending.isEmpty
      let directory = stack.last?.fd ?? root
      let fd = openat(directory.raw, component, openPathFlags | O_NOFOLLOW)
      if fd < 0 {
        let code = errno
        if code == ENOENT || code == ENOTDIR || code == ENAMETOOLONG { return try missing(component) }
        return .failed(OpenFailure(errno: code))
      }
      let handle = FileDescriptor(fd)
      guard let info = handle.status() else { return .failed(OpenFailure(errno: errno)) }
      let kind = FileKind(mode: info.st_mode)
      if kind == .symlink && (!isLast || followFinalSymlink) {
        hops += 1
        // A loop, or a link we cannot read: as good as broken, and nowhere.
        guard hops <= Self.maxSymlinkHops, let target = readLink(handle, in: directory, name: component) else {
          return .missing(nil)
        }
        var targetText = Substring(target)
        if targetText.utf8.first == Self.slash {
          guard let rest = relativeToRoot(targetText) else { throw .outsideWorkspace }
          stack.removeAll()
          targetText = rest
        }
        pending.append(contentsOf: Self.components(targetText))
        continue
      }
      if isLast {
        var names = stack.map(\.name)
        names.append(component)
        return .found(
          WorkspaceItem(
            relative: RelativeName(names), kind: kind, info: info, handle: handle, parent: directory,
            entryName: component))
      }
      // A path through a file: nothing can be there.
      if kind != .directory { return try missing(component) }
      stack.append((handle, component))
    }
    // The walk ended on a directory we hold (or the root).
    let holder = stack.last?.fd ?? root
    guard let info = holder.status() else { return .failed(OpenFailure(errno: errno)) }
    let name = stack.last?.name ?? ""
    let parent: FileDescriptor? = stack.count >= 2 ? stack[stack.count - 2].fd : (stack.isEmpty ? nil : root)
    return .found(
      WorkspaceItem(
        relative: RelativeName(stack.map(\.name)), kind: .directory, info: info, handle: holder, parent: parent,
        entryName: name))
  }

  private func readLink(_ link: FileDescriptor, in directory: FileDescriptor, name: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    #if os(Linux)
    // An O_PATH descriptor of the link itself: read exactly the link we
    // stat'ed, not whatever carries its name now.
    let count = readlinkat(link.raw, "", &buffer, buffer.count - 1)
    #else
    let count = readlinkat(directory.raw, name, &buffer, buffer.count - 1)
    #endif
    guard count > 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

#if os(Linux)
/// Walk descriptors need only search permission, never read permission.
/// (Glibc hides O_PATH behind _GNU_SOURCE; its value is 010000000 on every
/// Linux architecture Swift runs on.)
let openPathFlags: Int32 = 0o10000000 | O_CLOEXEC
#else
let openPathFlags: Int32 = O_RDONLY | O_CLOEXEC
#endif
