#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a client path was refused.
public enum PathError: Error, Sendable, Equatable {
  /// It leaves the workspace (absolute elsewhere, `..`, or a symlink out): -32014.
  case outsideWorkspace
  /// It cannot name a file at all (a NUL byte): -32014 as well, never read.
  case invalid(String)
}

/// A client path resolved inside a workspace.
public struct ResolvedPath: Sendable, Equatable {
  /// Relative to the workspace root, `/`-separated, no `.` or `..`; "" for the root.
  /// Symlinks on the way are resolved: this names the object itself.
  public var relative: String
  /// The absolute path on disk (root + relative).
  public var absolute: String

  public init(relative: String, absolute: String) {
    self.relative = relative
    self.absolute = absolute
  }
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

/// An owned file descriptor, closed when the last reference goes.
public final class FileDescriptor: Sendable {
  public let raw: Int32
  public init(_ raw: Int32) { self.raw = raw }
  deinit { close(raw) }

  /// `fstat`, or nil when it fails.
  public func status() -> stat? {
    var info = stat()
    return fstat(raw, &info) == 0 ? info : nil
  }
}

/// An object inside the workspace, held by a descriptor that was reached by
/// walking from the root one component at a time with `O_NOFOLLOW`. Whatever
/// happens to the names afterwards, reading goes through this descriptor (or
/// one verified to be the same inode), so there is no gap between the check
/// and the use.
public struct WorkspaceItem: Sendable {
  public let resolved: ResolvedPath
  public let kind: FileKind
  /// `fstat` of the object at the time it was reached.
  public let info: stat
  /// `O_PATH` on Linux: enough to stat and to name, never to read.
  let handle: FileDescriptor
  /// The directory that holds it, nil for the workspace root itself.
  let parent: FileDescriptor?
  let name: String

  public var size: Int { Int(info.st_size) }

  /// Opens the object for reading: `O_NONBLOCK` so that a FIFO swapped in
  /// can never hang the caller, and the inode checked against the one the
  /// walk reached, so that a rename in between is noticed rather than read.
  public func openForReading() -> Result<FileDescriptor, OpenFailure> {
    reopen(flags: O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)
  }

  /// Opens a directory for listing (fdopendir / getdents).
  public func openDirectory() -> Result<FileDescriptor, OpenFailure> {
    reopen(flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
  }

  private func reopen(flags: Int32) -> Result<FileDescriptor, OpenFailure> {
    let fd: Int32
    if let parent {
      fd = openat(parent.raw, name, flags)
    } else {
      // The root: walk-independent, but it is the root by definition.
      fd = openat(handle.raw, ".", flags & ~O_NOFOLLOW)
    }
    guard fd >= 0 else { return .failure(OpenFailure(errno: errno)) }
    let opened = FileDescriptor(fd)
    guard let now = opened.status(), now.st_dev == info.st_dev, now.st_ino == info.st_ino else {
      return .failure(OpenFailure(errno: ESTALE))
    }
    return .success(opened)
  }
}

/// An `open` that failed after the walk succeeded (permissions, a race).
public struct OpenFailure: Error, Sendable, Equatable {
  public var errno: Int32
  public var message: String { String(cString: strerror(errno)) }
}

/// What a lookup found.
public enum Lookup: Sendable {
  /// The object exists; it is held open.
  case found(WorkspaceItem)
  /// Nothing there (or a broken or looping symlink, or a path through a
  /// file); `ResolvedPath` is where it would be.
  case missing(ResolvedPath)
  /// Something on the way could not be opened (permissions).
  case failed(ResolvedPath, OpenFailure)
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

  /// Where a client path leads, without holding anything open. Missing
  /// paths resolve too (a deleted file still has a place).
  public func resolve(_ clientPath: String) throws(PathError) -> ResolvedPath {
    switch try lookup(clientPath) {
    case .found(let item): return item.resolved
    case .missing(let resolved), .failed(let resolved, _): return resolved
    }
  }

  /// Walks to a client path and holds what it finds open.
  /// - Parameter followFinalSymlink: when false and the last component is a
  ///   symlink, the link itself is returned (kind `.symlink`).
  public func lookup(_ clientPath: String, followFinalSymlink: Bool = true) throws(PathError) -> Lookup {
    if clientPath.utf8.contains(0) { throw .invalid("NUL byte in path") }
    var text = Substring(clientPath)
    if text.hasPrefix("/") {
      // Absolute paths are accepted only inside the workspace.
      guard let rest = relativeToRoot(text) else { throw .outsideWorkspace }
      text = rest
    }
    return try walk(components: text.split(separator: "/").map(String.init), followFinalSymlink: followFinalSymlink)
  }

  /// Walks a path that is already relative to the root (one the bridge made
  /// itself, e.g. while listing).
  public func lookup(relative: String, followFinalSymlink: Bool = true) throws(PathError) -> Lookup {
    try walk(components: relative.split(separator: "/").map(String.init), followFinalSymlink: followFinalSymlink)
  }

  /// The part of an absolute path below the root, or nil when it is not below it.
  private func relativeToRoot(_ absolute: Substring) -> Substring? {
    if path == "/" { return absolute.dropFirst() }
    guard absolute.hasPrefix(path) else { return nil }
    let rest = absolute.dropFirst(path.count)
    if rest.isEmpty { return rest }
    return rest.hasPrefix("/") ? rest.dropFirst() : nil
  }

  private static let maxSymlinkHops = 40

  private func walk(components: [String], followFinalSymlink: Bool) throws(PathError) -> Lookup {
    let rootFD = open(path, openPathFlags | O_DIRECTORY)
    guard rootFD >= 0 else {
      return .failed(ResolvedPath(relative: "", absolute: path), OpenFailure(errno: errno))
    }
    let root = FileDescriptor(rootFD)
    // Directories below the root that we hold, with their names.
    var stack: [(fd: FileDescriptor, name: String)] = []
    // Components still to walk, last one first.
    var pending = Array(components.reversed())
    var hops = 0
    // Once something is missing the rest is lexical: it names a place only.
    var missingTail: [String]?

    func resolvedPath(_ extra: [String]) -> ResolvedPath {
      let relative = (stack.map(\.name) + extra).joined(separator: "/")
      return ResolvedPath(relative: relative, absolute: relative.isEmpty ? path : (path == "/" ? "/" : path + "/") + relative)
    }

    while let component = pending.popLast() {
      if component.isEmpty || component == "." { continue }
      if component == ".." {
        if var tail = missingTail, !tail.isEmpty {
          tail.removeLast()
          missingTail = tail
        } else if stack.isEmpty {
          throw .outsideWorkspace
        } else {
          stack.removeLast()
        }
        continue
      }
      if missingTail != nil {
        missingTail!.append(component)
        continue
      }
      let isLast = !pending.contains { !$0.isEmpty && $0 != "." }
      let directory = stack.last?.fd ?? root
      let fd = openat(directory.raw, component, openPathFlags | O_NOFOLLOW)
      if fd < 0 {
        let code = errno
        if code == ENOENT || code == ENOTDIR || code == ENAMETOOLONG {
          missingTail = [component]
          continue
        }
        return .failed(resolvedPath([component]), OpenFailure(errno: code))
      }
      let handle = FileDescriptor(fd)
      guard let info = handle.status() else {
        return .failed(resolvedPath([component]), OpenFailure(errno: errno))
      }
      let kind = FileKind(mode: info.st_mode)
      if kind == .symlink && (!isLast || followFinalSymlink) {
        hops += 1
        guard hops <= Self.maxSymlinkHops, let target = readLink(handle, in: directory, name: component) else {
          // A loop, or a link we cannot read: as good as broken.
          missingTail = [component]
          continue
        }
        var targetText = Substring(target)
        if targetText.hasPrefix("/") {
          guard let rest = relativeToRoot(targetText) else { throw .outsideWorkspace }
          stack.removeAll()
          targetText = rest
        }
        pending.append(contentsOf: targetText.split(separator: "/").map(String.init).reversed())
        continue
      }
      if isLast {
        return .found(
          WorkspaceItem(
            resolved: resolvedPath([component]), kind: kind, info: info, handle: handle, parent: directory,
            name: component))
      }
      if kind != .directory {
        // A path through a file: nothing can be there.
        missingTail = [component]
        continue
      }
      stack.append((handle, component))
    }
    if let tail = missingTail { return .missing(resolvedPath(tail)) }
    // The walk ended on a directory we hold (or the root).
    let holder = stack.last?.fd ?? root
    guard let info = holder.status() else { return .failed(resolvedPath([]), OpenFailure(errno: errno)) }
    let name = stack.last?.name ?? ""
    let parent: FileDescriptor? = stack.count >= 2 ? stack[stack.count - 2].fd : (stack.isEmpty ? nil : root)
    let resolved = resolvedPath([])
    return .found(
      WorkspaceItem(resolved: resolved, kind: .directory, info: info, handle: holder, parent: parent, name: name))
  }

  private func readLink(_ link: FileDescriptor, in directory: FileDescriptor, name: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    #if os(Linux)
    // An O_PATH descriptor of the link itself: read exactly the link we
    // stat'ed, not whatever carries its name now.
    var count = readlinkat(link.raw, "", &buffer, buffer.count - 1)
    if count < 0 { count = readlinkat(directory.raw, name, &buffer, buffer.count - 1) }
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
