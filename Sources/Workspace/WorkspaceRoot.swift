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
  public var relative: String
  /// The absolute path on disk (root + relative).
  public var absolute: String
}

/// The one place client paths become file system paths. Every method that
/// takes a path resolves it here.
///
/// FIRST CUT (foundation): lexical normalisation plus a real-path containment
/// check. The files issue replaces the inside with openat-style walking so
/// that there is no gap between the check and the use; the API stays.
public struct WorkspaceRoot: Sendable {
  /// The workspace's real path.
  public let path: String

  public init(realPath: String) { self.path = realPath }

  public func resolve(_ clientPath: String) throws(PathError) -> ResolvedPath {
    if clientPath.utf8.contains(0) { throw .invalid("NUL byte in path") }
    var components: [Substring] = []
    var text = Substring(clientPath)
    if text.hasPrefix("/") {
      // Absolute paths are accepted only inside the workspace.
      let root = path.hasSuffix("/") ? path : path + "/"
      guard clientPath == path || clientPath.hasPrefix(root) else { throw .outsideWorkspace }
      text = text.dropFirst(path.count)
    }
    for component in text.split(separator: "/", omittingEmptySubsequences: true) {
      switch component {
      case ".": continue
      case "..":
        guard !components.isEmpty else { throw .outsideWorkspace }
        components.removeLast()
      default: components.append(component)
      }
    }
    let relative = components.joined(separator: "/")
    let absolute = relative.isEmpty ? path : path + "/" + relative
    // Symlinks anywhere on the way must not lead out.
    if let real = realpath(absolute, nil) {
      defer { free(real) }
      let resolved = String(cString: real)
      guard resolved == path || resolved.hasPrefix(path == "/" ? "/" : path + "/") else { throw .outsideWorkspace }
    }
    return ResolvedPath(relative: relative, absolute: absolute)
  }
}
