import Foundation

/// A fresh directory under the system temp dir, removed when the value dies.
final class TemporaryDirectory: Sendable {
  let path: String

  init(_ prefix: String) {
    let base = URL(fileURLWithPath: NSTemporaryDirectory())
      .appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    path = base.path
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
