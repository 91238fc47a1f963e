extension stat {
  /// The last modification, in nanoseconds since the epoch: the field's
  /// name differs between glibc and Darwin, so it is spelt once here.
  public var modifiedNanoseconds: Int64 {
    #if canImport(Glibc)
    Self.nanoseconds(st_mtim)
    #else
    Self.nanoseconds(st_mtimespec)
    #endif
  }

  /// The last status change (ctime), in nanoseconds since the epoch.
  public var statusChangedNanoseconds: Int64 {
    #if canImport(Glibc)
    Self.nanoseconds(st_ctim)
    #else
    Self.nanoseconds(st_ctimespec)
    #endif
  }

  private static func nanoseconds(_ time: timespec) -> Int64 {
    Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
  }
}
