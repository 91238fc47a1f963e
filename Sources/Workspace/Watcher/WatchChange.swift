/// One path that changed in a watched workspace.
public struct WatchChange: Sendable, Equatable, Hashable {
  public enum Kind: String, Sendable {
    case created, changed, deleted
  }

  /// Relative to the workspace root, `/`-separated; a directory's ends in
  /// `/`; "" for the workspace itself (only ever `deleted`).
  public var path: String
  public var kind: Kind

  public init(path: String, kind: Kind) {
    self.path = path
    self.kind = kind
  }
}
