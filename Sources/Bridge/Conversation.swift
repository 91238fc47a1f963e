import Crypto
import Support
import BridgeProtocol
import Git
import JSONRPC
import Synchronization
import Workspace

/// A workspace root and its runtime facts: what OpenHands calls a conversation.
public struct Conversation: Sendable, Equatable {
  public var id: String
  /// The workspace's real path (symlinks resolved), absolute.
  public var workspace: String
  public var runtime: RuntimeFacts
  /// The workspace's repository, pinned now: gitChanges and gitDiff use
  /// this one whatever `.git` or `core.worktree` say later.
  public let git: GitWorkspace

  public init(id: String, workspace: String, runtime: RuntimeFacts = RuntimeFacts()) {
    self.id = id
    self.workspace = workspace
    self.runtime = runtime
    git = GitWorkspace(opening: workspace)
  }

  /// 32 lowercase hex digits, stable for the same real path (the first half
  /// of its SHA-256), shaped like OpenHands' ids.
  public static func stableId(forWorkspace realPath: String) -> String {
    String(Hex.lowercase(SHA256.hash(data: Array(realPath.utf8))).prefix(32))
  }

  /// The real path of a directory, or nil when it is missing or not one.
  public static func realDirectory(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    var info = stat()
    guard stat(resolved, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
    return String(cString: resolved)
  }
}

/// The open conversations. Reads happen on every request, from any thread, so
/// this is a lock around a small table rather than an actor: the reader thread
/// must be able to apply `initialize` synchronously, in order.
public final class ConversationStore: Sendable {
  private struct State {
    var defaultId: String
    var conversations: [String: Conversation]
    var order: [String]
  }

  private let state: Mutex<State>

  public init(default conversation: Conversation) {
    state = Mutex(
      State(
        defaultId: conversation.id, conversations: [conversation.id: conversation], order: [conversation.id]))
  }

  public var defaultConversation: Conversation {
    state.withLock { $0.conversations[$0.defaultId]! }
  }

  /// The conversation for an id, or the default for nil; -32001 if unknown.
  public func conversation(_ id: String?) throws(ResponseError) -> Conversation {
    let found = state.withLock { state in state.conversations[id ?? state.defaultId] }
    guard let found else { throw BridgeError.conversationNotFound(id ?? "") }
    return found
  }

  /// Replaces the default conversation (initialize naming a workspace).
  public func replaceDefault(with conversation: Conversation) {
    state.withLock { state in
      let old = state.defaultId
      state.conversations[old] = nil
      state.conversations[conversation.id] = conversation
      state.order = [conversation.id] + state.order.filter { $0 != old && $0 != conversation.id }
      state.defaultId = conversation.id
    }
  }

  /// Adds a conversation; an existing one with the same id is replaced.
  public func open(_ conversation: Conversation) {
    state.withLock { state in
      if state.conversations.updateValue(conversation, forKey: conversation.id) == nil {
        state.order.append(conversation.id)
      }
    }
  }

  /// Removes a conversation; false when unknown. The default cannot be closed.
  public func close(_ id: String) -> Bool {
    state.withLock { state in
      guard state.conversations[id] != nil, id != state.defaultId else { return false }
      state.conversations[id] = nil
      state.order.removeAll { $0 == id }
      return true
    }
  }

  public var all: [Conversation] {
    state.withLock { state in state.order.compactMap { state.conversations[$0] } }
  }
}
