import CLibGit2

import Support

extension Repository {
  /// The files its configuration (any level) names whose contents move a
  /// status outside the repository's own files: the excludes and
  /// attributes files, included configuration. A scan's key stamps them.
  /// Nil when one cannot be told for sure (a relative include, which
  /// resolves against a file this does not know): then no scan may be
  /// narrowed.
  var filesNamedByConfig: [String]? {
    var config: OpaquePointer?
    guard git_repository_config_snapshot(&config, pointer) == 0, let config else {
      git_error_clear()
      return nil
    }
    defer { git_config_free(config) }
    // Every entry, filtered here: libgit2's (1.5) glob iterator leaks
    // memory on every call, which grew a soaked session to 1 GiB a minute.
    var iterator: OpaquePointer?
    guard git_config_iterator_new(&iterator, config) == 0, let iterator else {
      git_error_clear()
      return nil
    }
    defer { git_config_iterator_free(iterator) }
    let home = getenv("HOME").map { String(cString: $0) }
    var files: [String] = []
    var entry: UnsafeMutablePointer<git_config_entry>?
    while git_config_next(&entry, iterator) == 0 {
      guard let name = entry?.pointee.name, Self.namesRuleFile(String(cString: name)),
        let raw = entry?.pointee.value
      else { continue }
      let value = String(cString: raw)
      if value.hasPrefix("/") {
        files.append(value)
      } else if value.hasPrefix("~/"), let home {
        files.append(home + value.dropFirst())
      } else if !value.isEmpty {
        return nil
      }
    }
    git_error_clear()
    return files
  }

  /// `core.excludesFile`, `core.attributesFile`, `include.path` and
  /// `includeIf.<condition>.path` (libgit2 gives names with the section and
  /// key lowercased).
  static func namesRuleFile(_ name: String) -> Bool {
    let lowered = name.lowercased()
    if lowered == "core.excludesfile" || lowered == "core.attributesfile" || lowered == "include.path" { return true }
    return lowered.hasPrefix("includeif.") && lowered.hasSuffix(".path")
  }
}
