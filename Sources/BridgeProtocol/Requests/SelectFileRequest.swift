public import JSONRPC

/// `selectFile` {file} -> {"code": "<text>"} (or a `data:` URL for media).
public enum SelectFileRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var file: String
  }
  /// The file as the contract's `code`: its text, or a data: URL for media.
  public enum Result: BridgeResult, Equatable {
    /// The text (line ends already folded), escaped once straight from the
    /// file's bytes into the literal the reply is written from: a file of
    /// many megabytes never becomes a `String`.
    case text(EncodedString)
    /// `data:<mime>;base64,...`.
    case dataURL(String)

    public var json: JSONValue {
      switch self {
      case .text(let code): ["code": .encodedString(code)]
      case .dataURL(let url): ["code": .string(url)]
      }
    }

    public static let examples: [Result] = [
      .text(EncodedString("import os\n\nprint(\"hi\")\t# \u{1F600}\n")), .text(EncodedString("")),
      .dataURL("data:image/png;base64,iVBORw0KGgo="),
    ]
  }

  public static let method = "selectFile"
  public static let summary =
    "A file's text with line endings as LF, or a data: URL for images, PDF and video."
  public static let errors: [BridgeErrorCode] = [
    .fileNotFound, .binaryFile, .notUTF8, .notRegularFile, .outsideWorkspace, .tooLarge,
  ]
  public static let http: HTTPRoute? = HTTPRoute(
    .get, .conversation, "select-file", query: [HTTPRoute.Query("file", required: true)])
  public static let paramsSchema: JSONValue = Schema.params(
    ["file": Schema.nonEmptyString("The file, relative to the workspace.")], required: ["file"])
  public static let resultSchema: JSONValue = Schema.object(
    ["code": Schema.string("The text (CRLF and CR as LF, a BOM kept), or data:<mime>;base64,... for media.")],
    required: ["code"])

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    Params(file: try ParamsReader(params).string("file"))
  }
}
