extension stat {
  /// The last modification, in nanoseconds since the epoch: the field's
  /// name differs between glibc and Darwin, so it is spelt once here.
  public var modifiedNanoseconds: Int64 {
    #if canImport(Glibc)
    Int64(st_mtim.tv_sec) * 1_000_000_000 + Int64(st_mtim.tv_nsec)
    #else
    Int64(st_mtimespec.tv_sec) * 1_000_000_000 + Int64(st_mtimespec.tv_nsec)
    #endif
  }

  /// The last status change (ctime), in nanoseconds since the epoch.
  public var statusChangedNanoseconds: Int64 {
    #if canImport(Glibc)
    Int64(st_ctim.tv_sec) * 1_000_000_000 + Int64(st_ctim.tv_nsec)
    #else
    Int64(st_ctimespec.tv_sec) * 1_000_000_000 + Int64(st_ctimespec.tv_nsec)
    #endif
  }
}
