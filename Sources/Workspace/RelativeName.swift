/// A place in the workspace, named relative to its root: `/`-separated, no
/// `.`, `..` or empty components, "" for the root.
///
/// A name only. Nothing opens it: files are read through the `WorkspaceItem`
/// the walk ended on. It exists for what needs a name and not a file, such
/// as looking a deleted file up in git's tree, or choosing a media type.
public struct RelativeName: Sendable, Hashable, CustomStringConvertible {
  public let text: String

  init(_ components: [String]) { text = components.joined(separator: "/") }

  public var isRoot: Bool { text.isEmpty }
  public var description: String { text }
}
