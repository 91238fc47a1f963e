public import JSONRPC

/// `submitFeedback`, OpenHands' `POST submit-feedback` (the JSON body is the
/// params). The record is appended durably to the feedback store before the
/// reply, so an acknowledged record survives a crash.
///
/// Deviations from OpenHands, on purpose: a bad or missing `polarity` or
/// `permissions` is -32602/422 naming the field (OpenHands answers a bare 500),
/// and the client's `feedback` text and `trajectory` are kept (OpenHands
/// overwrites `feedback` with `polarity` and builds the trajectory itself,
/// which a bridge without an event stream cannot do). `feedback` defaults to
/// `polarity`, as OpenHands stores it.
public enum SubmitFeedbackRequest: BridgeRequest {
  public struct Params: Sendable, Equatable {
    public var email: String
    public var version: String
    public var permissions: String
    public var polarity: String
    public var feedback: String
    public var trajectory: JSONValue

    public init(
      email: String = "", version: String = "", permissions: String = "private", polarity: String,
      feedback: String? = nil, trajectory: JSONValue = .null
    ) {
      self.email = email
      self.version = version
      self.permissions = permissions
      self.polarity = polarity
      self.feedback = feedback ?? polarity
      self.trajectory = trajectory
    }
  }
  /// OpenHands' answer: a status code and body, as its feedback receiver
  /// returns them.
  public struct Result: BridgeResult, Equatable {
    public var feedbackId: String
    public var password: String
    public init(feedbackId: String, password: String) {
      self.feedbackId = feedbackId
      self.password = password
    }
    public var json: JSONValue {
      [
        "statusCode": 200,
        "body": ["message": "Feedback submitted", "feedback_id": .string(feedbackId), "password": .string(password)],
      ]
    }
    public static let examples = [
      Result(feedbackId: "0123456789abcdef0123456789abcdef", password: "fedcba9876543210fedcba9876543210")
    ]
  }

  public static let polarities = ["positive", "negative"]
  public static let permissionValues = ["public", "private"]

  public static let method = "submitFeedback"
  public static let summary = "Store a feedback record durably (and forward it when --feedback-url is set)."
  public static let errors: [BridgeErrorCode] = [.internalError]
  public static let paramsSchema: JSONValue = Schema.params(
    [
      "email": Schema.string("Contact address; default \"\"."),
      "version": Schema.string("Client version; default \"\"."),
      "permissions": Schema.enumeration(permissionValues, description: "Default \"private\"."),
      "polarity": Schema.enumeration(polarities),
      "feedback": Schema.string("Free text; defaults to the polarity."),
      "trajectory": ["description": "Any JSON value; stored as given."],
    ], required: ["polarity"])
  public static let resultSchema: JSONValue = Schema.object(
    [
      "statusCode": Schema.constant(200),
      "body": Schema.object(
        [
          "message": Schema.constant("Feedback submitted"),
          "feedback_id": Schema.string("32 lowercase hex digits."),
          "password": Schema.string("32 lowercase hex digits."),
        ], required: ["message", "feedback_id", "password"], additional: false),
    ], required: ["statusCode", "body"], additional: false)
  public static let http: HTTPRoute? = HTTPRoute(.post, .conversation, "submit-feedback", bodyIsParams: true)

  public static func decode(_ params: JSONValue?) throws(ResponseError) -> Params {
    // Over HTTP these come in the POST body, so errors say `loc: ["body", field]`.
    let reader = try ParamsReader(params, location: "body")
    guard let polarity = try reader.optionalEnum("polarity", polarities) else {
      throw reader.missing("polarity")
    }
    return Params(
      email: try reader.optionalString("email") ?? "",
      version: try reader.optionalString("version") ?? "",
      permissions: try reader.optionalEnum("permissions", permissionValues) ?? "private",
      polarity: polarity,
      feedback: try reader.optionalString("feedback"),
      trajectory: reader["trajectory"] ?? .null)
  }
}
