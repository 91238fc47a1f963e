/// What a kernel watch is on, so that an event can be turned into a hint.
enum WatchTarget: Sendable, Equatable {
  /// A workspace directory, relative to the root ("" for the root).
  case directory(String)
  /// The `.git` directory of the repository in this workspace directory:
  /// only `HEAD`, `index`, `packed-refs`, `config` (and the `refs` and
  /// `info` directories coming or going) matter there.
  case gitDirectory(repository: String)
  /// A directory under `.git/refs` of that repository: anything in it matters.
  case gitRefs(repository: String)
  /// The `.git/info` of that repository: only `exclude` and `attributes`
  /// matter there.
  case gitInfo(repository: String)
}
