import Support
import CLibGit2

/// One changed path, as OpenHands' git/changes reports it.
public struct GitChange: Sendable, Hashable, CustomStringConvertible {
  public enum Status: String, Sendable, Comparable {
    case added = "A"
    case modified = "M"
    case deleted = "D"
    case unmerged = "U"

    public static func < (lhs: Status, rhs: Status) -> Bool { lhs.rawValue < rhs.rawValue }
  }

  public var status: Status
  /// Relative to the workspace, `/`-separated; an untracked nested
  /// repository ends in `/`.
  public var path: String

  public init(_ status: Status, _ path: String) {
    self.status = status
    self.path = path
  }

  public var description: String { "\(status.rawValue) \(path)" }

  /// Code point order of the path (UTF-8 byte order is the same), then status.
  public static func inContractOrder(_ lhs: GitChange, _ rhs: GitChange) -> Bool {
    var left = lhs.path
    var right = rhs.path
    // memcmp over the UTF-8 bytes: every answer is sorted, and a generic
    // element-by-element comparison dominated a watched answer's cost.
    let order = left.withUTF8 { a in
      right.withUTF8 { b -> Int32 in
        let common = min(a.count, b.count)
        let bytes = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
        return bytes != 0 ? bytes : Int32(a.count < b.count ? -1 : (a.count > b.count ? 1 : 0))
      }
    }
    return order == 0 ? lhs.status < rhs.status : order < 0
  }
}
