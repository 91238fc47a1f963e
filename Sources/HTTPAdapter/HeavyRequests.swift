import Bridge
import BridgeProtocol
import HTTPTypes
import Hummingbird
import JSONRPC

/// Lets heavy requests through one at a time, in arrival order, and holds
/// each one's turn until its response has been written (or dropped).
///
/// Heavy are the requests whose memory is their size: a large body (or one
/// of unknown length), held whole while parsed and answered, its tree
/// taking twice its size again; and a JSON-RPC call for an inline archive,
/// whose reply carries the archive. Ten clients each posting 30 MiB at once
/// peaked at 294 MiB, twenty asking for a 2 MiB inline archive at 81 MiB,
/// where CONTRACT section 8 allows 4 times the largest message plus 64 MiB.
/// Light requests, nearly all of them, never wait; a heavy one waits only
/// for the heavy ones ahead of it, whose callers are trusted (key, bind,
/// origin) and whose work honours cancellation.
struct HeavyRequests: Sendable {
  /// Bodies up to this many bytes are light.
  static let lightBodyBytes = 1 << 20

  private let gate = TurnGate()

  /// A turn when the request's body is large, before it is read.
  func turnForBody(of request: Request) async -> TurnGate.Turn? {
    Self.hasLargeBody(request) ? await gate.take() : nil
  }

  /// A turn when the parsed JSON-RPC message asks for an inline archive
  /// and none is held yet.
  func turnForReply(to message: JSONValue, holding turn: TurnGate.Turn?) async -> TurnGate.Turn? {
    if let turn { return turn }
    return Self.asksForInlineArchive(message) ? await gate.take() : nil
  }

  static func hasLargeBody(_ request: Request) -> Bool {
    guard request.method == .post else { return false }
    guard let length = request.headers[.contentLength].flatMap({ Int($0) }) else {
      // Chunked, or no length at all: its size is known only once read.
      return request.headers[.transferEncoding] != nil
    }
    return length > lightBodyBytes
  }

  static func asksForInlineArchive(_ message: JSONValue) -> Bool {
    switch message {
    case .array(let batch): batch.contains(where: asksForInlineArchive)
    case .object: message["method"] == .string(ZipDirectoryRequest.method)
    default: false
    }
  }
}

extension Response {
  /// The same response, keeping `turn` until its body has been written or
  /// the response is dropped.
  func holding(_ turn: TurnGate.Turn?) -> Response {
    guard let turn else { return self }
    var response = self
    let body = self.body
    response.body = ResponseBody(contentLength: body.contentLength) { writer in
      try await body.write(writer)
      withExtendedLifetime(turn) {}
    }
    return response
  }
}
