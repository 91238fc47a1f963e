import Hummingbird

/// Every path `serve` answers and the methods each takes, matched the way
/// Starlette matches FastAPI's routes: segment by segment, exactly (no
/// empty segment skipped, case kept), a `:name` capture standing for one
/// non-empty segment. The router is built from the same list, so the two
/// cannot disagree about what exists.
struct RouteTable: Sendable {
  struct Entry: Sendable {
    let segments: [Substring]
    let methods: [HTTPRequest.Method]
  }

  let entries: [Entry]

  /// - Parameter routes: Hummingbird paths (`/a/:capture/b`) and their
  ///   methods; a path may come more than once, with different methods.
  init(_ routes: [(path: String, method: HTTPRequest.Method)]) {
    var entries: [Entry] = []
    for (path, method) in routes {
      let segments = Self.segments(path)
      if let index = entries.firstIndex(where: { $0.segments == segments }) {
        entries[index] = Entry(segments: segments, methods: entries[index].methods + [method])
      } else {
        entries.append(Entry(segments: segments, methods: [method]))
      }
    }
    self.entries = entries
  }

  /// The methods the path takes, or nil when no route has that path.
  func methods(for path: String) -> [HTTPRequest.Method]? {
    let asked = Self.segments(path)
    return entries.first { Self.matches($0.segments, asked) }?.methods
  }

  /// What a path with trailing slashes names once they are gone, when that
  /// is a route: Starlette's `redirect_slashes`. nil for `/` and for paths
  /// that name nothing either way.
  func canonical(_ path: String) -> String? {
    guard path.hasSuffix("/"), methods(for: path) == nil else { return nil }
    var trimmed = Substring(path)
    while trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard !trimmed.isEmpty, methods(for: String(trimmed)) != nil else { return nil }
    return String(trimmed)
  }

  static func segments(_ path: String) -> [Substring] {
    path.split(separator: "/", omittingEmptySubsequences: false)
  }

  static func matches(_ template: [Substring], _ asked: [Substring]) -> Bool {
    guard template.count == asked.count else { return false }
    for (expected, given) in zip(template, asked) {
      if expected.hasPrefix(":") {
        if given.isEmpty { return false }
      } else if expected != given {
        return false
      }
    }
    return true
  }
}
