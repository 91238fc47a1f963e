/// Every method the bridge serves, in the order documents list them. This is
/// the single source for `initialize`'s `capabilities.methods`,
/// `rpc.discover`, `Protocol/openrpc.json` and the HTTP routes.
///
/// Adding a method: see CONTRIBUTING.md.
public enum Registry {
  public static let requests: [any BridgeRequest.Type] = [
    InitializeRequest.self,
    ShutdownRequest.self,
    HealthRequest.self,
    OpenConversationRequest.self,
    CloseConversationRequest.self,
    ListConversationsRequest.self,
    WorkspaceInfoRequest.self,
    GetConfigRequest.self,
    VscodeUrlRequest.self,
    WebHostsRequest.self,
    SubmitFeedbackRequest.self,
    ListFilesRequest.self,
    SelectFileRequest.self,
    ZipDirectoryRequest.self,
    GitChangesRequest.self,
    GitDiffRequest.self,
    SubscribeRequest.self,
    UnsubscribeRequest.self,
  ]

  /// Notifications the bridge accepts (no reply).
  public static let notifications: [(method: String, summary: String)] = [
    ("initialized", "Sent once after initialize; accepted and ignored."),
    ("exit", "Ends the process: code 0 after shutdown, 1 otherwise."),
    ("$/cancelRequest", "{id}: the request stops promptly and answers -32800."),
  ]

  public static func request(named method: String) -> (any BridgeRequest.Type)? {
    requests.first { $0.method == method }
  }

  /// The protocol version `initialize` reports; bump it when a method's
  /// params or result change incompatibly.
  public static let protocolVersion = "1.0"
}
