public import JSONRPC

/// `gitDiff` {path, ref?} -> {modified, original}: OpenHands' `GET git/diff?path=`.
public enum GitDiffRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var path: String
    public var ref: String?
    public init(path: String, ref: String? = nil) {
      self.path = path
      self.ref = ref
    }
  }
  public struct Result: BridgeResult, Equatable {
    public var modified: String
    public var original: String
    public init(modified: String, original: String) {
      self.modified = modified
      self.original = original
    }
    /// OpenHands' member order.
    public var json: JSONValue { ["modified": .string(modified), "original": .string(original)] }
    public static let examples = [
      Result(modified: "two", original: "one"), Result(modified: "", original: "gone"),
      Result(modified: "new", original: ""),
    ]
  }

  public static let method = "gitDiff"
  public static let summary =
    "One file at the base and in the working tree, as LF text without the final newline."
  public static let errors: [BridgeErrorCode] = [
    .invalidParams, .fileNotFound, .notUTF8, .notRegularFile, .outsideWorkspace, .tooLarge, .notGitRepository,
    .internalError,
  ]
  public static let http: HTTPRoute? = HTTPRoute(
    .get, .conversation, "git/diff", query: [.init("path", required: true), .init("ref")])

  public static let paramsSchema: JSONValue = Schema.params(
    [
      "path": Schema.nonEmptyString("The file, relative to the workspace (as gitChanges reports it)."),
      "ref": Schema.nonEmptyString("Base revision of the workspace repository; as for gitChanges."),
    ], required: ["path"])

  public static let resultSchema: JSONValue = Schema.object(
    [
      "modified": Schema.string("The working-tree version; \"\" when deleted."),
      "original": Schema.string("The base version; \"\" when added or untracked."),
    ], required: ["modified", "original"], additional: false)

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    return Params(path: try reader.string("path"), ref: try reader.optionalString("ref"))
  }
}
