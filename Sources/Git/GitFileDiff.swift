/// gitDiff's answer: the file at the base and in the working tree, as text.
public struct GitFileDiff: Sendable, Equatable {
  public var original: String
  public var modified: String

  public init(original: String, modified: String) {
    self.original = original
    self.modified = modified
  }
}
