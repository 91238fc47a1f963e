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
  /// What the archive holds, in every form.
  public struct Summary: Sendable, Equatable {
    /// The archive's size.
    public var bytes: UInt64
    public var entries: Int
    /// Files left out: FIFOs, sockets, unreadable files, links broken or leading out.
    public var skipped: Int
    public init(bytes: UInt64, entries: Int, skipped: Int) {
      self.bytes = bytes
      self.entries = entries
      self.skipped = skipped
    }
  }

  public enum Result: BridgeResult, Equatable {
    /// Written atomically to `path` (the params' destination).
    case written(path: String, Summary, sha256: String)
    /// Returned in the reply: the archive, base64.
    case inline(Summary, data: String)
    /// Written to the request's byte stream (HTTP), which is the answer: the
    /// adapter sends these bytes, not this JSON, which goes out only if the
    /// stream never started (and an archive always has its end record).
    case streamed(Summary)

    /// The contract's member order for each form.
    public var json: JSONValue {
      switch self {
      case .written(let path, let summary, let sha256):
        [
          "path": .string(path), "bytes": .int(Int64(summary.bytes)), "entries": .int(Int64(summary.entries)),
          "skipped": .int(Int64(summary.skipped)), "sha256": .string(sha256),
        ]
      case .inline(let summary, let data):
        [
          "filename": "workspace.zip", "bytes": .int(Int64(summary.bytes)), "entries": .int(Int64(summary.entries)),
          "skipped": .int(Int64(summary.skipped)), "data": .string(data),
        ]
      case .streamed(let summary):
        [
          "filename": "workspace.zip", "bytes": .int(Int64(summary.bytes)), "entries": .int(Int64(summary.entries)),
          "skipped": .int(Int64(summary.skipped)),
        ]
      }
    }

    /// The two results a client reads as JSON; `streamed` is not one.
    public static let examples: [Result] = [
      .written(
        path: "/tmp/workspace.zip", Summary(bytes: 1_234, entries: 3, skipped: 1),
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
      .inline(Summary(bytes: 22, entries: 0, skipped: 0), data: "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="),
    ]
  }

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
