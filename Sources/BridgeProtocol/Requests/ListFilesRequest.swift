public import JSONRPC

/// `listFiles` {path?, recursive?, workDoneToken?} -> ["dir/", "file.txt", ...].
public enum ListFilesRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    /// Relative to the workspace (or absolute inside it); nil or "" for the root.
    public var path: String?
    public var recursive: Bool
  }
  /// The names, directories first and ending in `/` for one level; files
  /// only, in code-point order, when recursive.
  public struct Result: BridgeResult, Equatable {
    public var names: [String]
    public init(_ names: [String]) { self.names = names }
    public var json: JSONValue { .array(names.map { .string($0) }) }
    public static let examples = [
      Result(["src/", "tests/", "README.md", "Package.swift"]), Result(["src/a.swift", "src/b/c.swift"]), Result([]),
    ]
  }

  public static let method = "listFiles"
  public static let summary =
    "One directory level (directories first, then files; directories end in /), or with recursive every non-ignored file below path."
  public static let errors: [BridgeErrorCode] = [.outsideWorkspace]
  public static let http: HTTPRoute? = HTTPRoute(
    .get, .conversation, "list-files", query: [HTTPRoute.Query("path"), HTTPRoute.Query("recursive")])
  public static let paramsSchema: JSONValue = Schema.params([
    "path": Schema.string("Directory to list, relative to the workspace; the root when absent or empty."),
    "recursive": [
      "type": "boolean",
      "description": "List every non-ignored file below path (files only, code-point order) instead of one level.",
    ],
    "workDoneToken": Schema.progressToken,
  ])
  public static let resultSchema: JSONValue = Schema.array(Schema.string)

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    return Params(path: try reader.optionalString("path"), recursive: try reader.optionalBool("recursive") ?? false)
  }
}
