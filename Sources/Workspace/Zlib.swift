import CZlib

/// The zlib the process runs with.
public enum Zlib {
  public static var version: String { String(cString: zlibVersion()) }
}
