/// Where the workspace sits inside its repository's working tree.
enum WorkspaceRepository {
  /// "" when the workspace is the working tree's top, `dir/` below it, nil
  /// when it is not inside the working tree at all (inside `.git`, say).
  static func scope(of repository: Repository, workspace: String) -> String? {
    guard let workdir = repository.workdir else { return nil }
    let top = FileSystem.realPath(workdir) ?? workdir
    if top == workspace { return "" }
    let prefix = top == "/" ? "/" : top + "/"
    guard workspace.utf8.starts(with: prefix.utf8) else { return nil }
    return String(decoding: workspace.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) + "/"
  }
}
