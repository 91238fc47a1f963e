public import JSONRPC

/// `zipDirectory` {destination?, path?, exclude?, compression?, workDoneToken?}
/// -> {path, bytes, entries, skipped, sha256} with a destination, else
/// {filename, bytes, entries, skipped, data}.
public enum ZipDirectoryRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    /// Absolute path to write the archive to; nil to return it inline.
    public var destination: String?
    /// The directory to archive, relative to the workspace; the root when nil.
    public var path: String?
    /// gitignore-style patterns matched against entry names.
    public var exclude: [String]
    public var compression: String
  }
  public typealias Result = JSONValue

  public static let method = "zipDirectory"
  public static let summary =
    "A ZIP of the workspace (or path below it): written atomically to destination, or returned as base64."
  public static let errors: [BridgeErrorCode] = [.fileNotFound, .notRegularFile, .outsideWorkspace, .tooLarge]
  public static let http: HTTPRoute? = HTTPRoute(
    .get, .conversation, "zip-directory",
    query: [HTTPRoute.Query("path"), HTTPRoute.Query("exclude"), HTTPRoute.Query("compression")], streams: true,
    stdioOnlyParams: ["destination"])
  public static let paramsSchema: JSONValue = Schema.params([
    "destination": Schema.string("Absolute path of the archive to write (atomically); inline base64 when absent."),
    "path": Schema.string("Directory to archive, relative to the workspace; the root when absent."),
    "exclude": [
      "type": "array", "items": ["type": "string"],
      "description": "gitignore-style patterns matched against entry names.",
    ],
    "compression": Schema.enumeration(["deflate", "store"], description: "deflate (default) or store."),
    "workDoneToken": Schema.progressToken,
  ])
  public static let resultSchema: JSONValue = [
    "oneOf": [
      Schema.object(
        [
          "path": Schema.string, "bytes": Schema.integer, "entries": Schema.integer, "skipped": Schema.integer,
          "sha256": Schema.string,
        ], required: ["path", "bytes", "entries", "skipped", "sha256"]),
      Schema.object(
        [
          "filename": Schema.constant("workspace.zip"), "bytes": Schema.integer, "entries": Schema.integer,
          "skipped": Schema.integer, "data": Schema.string("The archive, base64."),
        ], required: ["filename", "bytes", "entries", "skipped", "data"]),
    ]
  ]

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    let reader = try ParamsReader(params)
    let destination = try reader.optionalString("destination")
    if let destination, !destination.hasPrefix("/") {
      throw BridgeError.invalidParams(
        field: "destination", type: "value_error", message: "destination must be an absolute path",
        input: .string(destination), location: reader.location)
    }
    return Params(
      destination: destination, path: try reader.optionalString("path"),
      exclude: try reader.optionalStringArray("exclude") ?? [],
      compression: try reader.optionalEnum("compression", ["deflate", "store"]) ?? "deflate")
  }
}
