public import JSONRPC

/// `gitChanges` {ref?} -> [{status, path}]: OpenHands' `GET git/changes`.
public enum GitChangesRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    /// The base for the workspace repository; nested ones keep their own.
    public var ref: String?
    public init(ref: String? = nil) { self.ref = ref }
  }
  /// One changed file.
  public struct Change: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
      case added = "A", modified = "M", deleted = "D", unmerged = "U"
    }
    public var status: Status
    /// Relative to the workspace; an untracked nested repository ends in `/`.
    public var path: String
    public init(_ status: Status, _ path: String) {
      self.status = status
      self.path = path
    }
  }

  /// The changes in code-point order of their paths; also the `changes` of
  /// `workspace/gitChanged`.
  public struct Result: BridgeResult, Equatable {
    public var changes: [Change]
    public init(_ changes: [Change]) { self.changes = changes }
    public var json: JSONValue {
      .array(changes.map { ["status": .string($0.status.rawValue), "path": .string($0.path)] })
    }
    public static let examples = [
      Result([.init(.modified, "README.md"), .init(.added, "app/"), .init(.deleted, "old.txt"), .init(.unmerged, "x.c")]),
      Result([]),
    ]
  }

  public static let method = "gitChanges"
  public static let summary =
    "Changed files of the workspace repository and its depth-1 nested repositories against their base: "
    + "A, M, D or U, paths in code-point order."
  public static let errors: [BridgeErrorCode] = [.invalidParams, .internalError]
  public static let http: HTTPRoute? = HTTPRoute(.get, .conversation, "git/changes", query: [.init("ref")])

  public static let paramsSchema: JSONValue = Schema.params([
    "ref": Schema.nonEmptyString(
      "Base revision of the workspace repository (local refs only). Default: origin/<branch>, else the "
        + "merge-base with origin/HEAD's target, else that target, else HEAD, else the empty tree.")
  ])

  public static let resultSchema: JSONValue = Schema.array(
    Schema.object(
      [
        "status": Schema.enumeration(Change.Status.allCases.map(\.rawValue)),
        "path": Schema.string("Relative to the workspace; an untracked nested repository ends in '/'."),
      ], required: ["status", "path"], additional: false))

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    Params(ref: try ParamsReader(params).optionalString("ref"))
  }
}
