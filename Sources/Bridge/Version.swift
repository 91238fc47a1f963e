import Git
import Workspace

/// Versions the bridge reports (`--version`, `initialize`, OpenRPC).
public enum BridgeVersion {
  public static let version = "0.1.0"
  public static let name = "agent-bridge"

  /// `agent-bridge 0.1.0 (libgit2 1.5.1, zlib 1.2.13)`
  public static var long: String {
    "\(name) \(version) (libgit2 \(LibGit2.version), zlib \(Zlib.version))"
  }
}
