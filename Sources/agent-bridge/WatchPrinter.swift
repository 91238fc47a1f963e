import Foundation
import JSONRPC
import Support
import Synchronization

/// Where `agent-bridge watch` sends its subscription's notifications: one
/// JSON notification per line, or lines for a person to read.
final class WatchPrinter: NotificationSink, Sendable {
  private let output: Int32
  private let json: Bool
  private let deleted = Mutex<CheckedContinuation<Void, Never>?>(nil)
  private let gone = Atomic(false)

  init(output: Int32, json: Bool) {
    self.output = output
    self.json = json
  }

  /// Returns when the watched workspace has been deleted.
  func waitForWorkspaceDeleted() async {
    await withCheckedContinuation { continuation in
      let already = deleted.withLock { slot -> Bool in
        if gone.load(ordering: .acquiring) { return true }
        slot = continuation
        return false
      }
      if already { continuation.resume() }
    }
  }

  func notify(_ method: String, params: JSONValue) {
    let changes = params["changes"]?.arrayValue ?? []
    var text: String
    if json {
      text = JSONWriter.string(Reply.notification(method, params: params)) + "\n"
    } else if method == "workspace/watchState" {
      let state = params["state"]
      let notes = state?["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
      text = "watch: \(state?["mode"]?.stringValue ?? "?")" + (notes.last.map { " (\($0))" } ?? "") + "\n"
    } else if method == "workspace/gitChanged" {
      text = changes.isEmpty ? "git: no changes\n" : "git: \(changes.count) changed\n"
      for change in changes {
        text += "  \(change["status"]?.stringValue ?? "?") \(change["path"]?.stringValue ?? "")\n"
      }
    } else {
      text = ""
      for change in changes {
        let path = change["path"]?.stringValue ?? ""
        let type = change["type"]?.stringValue ?? "?"
        text += type.padding(toLength: 8, withPad: " ", startingAt: 0) + (path.isEmpty ? "(the workspace)" : path) + "\n"
      }
    }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = retryOnInterrupt { bytes[offset...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) } }
      // Whoever reads us is gone: so is the point of watching.
      if written <= 0 { Foundation.exit(0) }
      offset += written
    }
    if method == "workspace/filesChanged" && changes.contains(where: { $0["path"] == "" }) {
      gone.store(true, ordering: .releasing)
      deleted.withLock { slot in
        slot?.resume()
        slot = nil
      }
    }
  }
}
