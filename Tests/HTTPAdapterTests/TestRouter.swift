import Bridge
import HTTPTypes
import Hummingbird
@testable import HTTPAdapter
import HummingbirdTesting

/// `serve`'s application answered in-process: the Application, middlewares
/// and routes `HTTPServer.application` builds for the socket, each request
/// handed straight to its router by HummingbirdTesting's `.router`
/// framework. There is no connection, so no channel handlers (request
/// timeout, client departure), no keep-alive, no chunked transfer, and the
/// Host is always `localhost`: tests of those, and of anything the bytes on
/// the wire show, use `withServer`.
struct TestRouter: Sendable {
  let client: any TestClientProtocol
  let workspace: String
  let dispatcher: Dispatcher

  /// The default conversation's id.
  var conversationId: String { dispatcher.conversations.defaultConversation.id }

  /// One request; the reply as `withServer`'s client parses it (never chunked).
  func request(
    _ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil
  ) async throws -> HTTPReply {
    guard let verb = HTTPRequest.Method(method) else { throw TestFailure("bad method \(method)") }
    var fields = HTTPFields()
    for (name, value) in headers {
      guard let name = HTTPField.Name(name) else { throw TestFailure("bad header name \(name)") }
      fields.append(HTTPField(name: name, value: value))
    }
    let response = try await client.execute(
      uri: target, method: verb, headers: fields, body: body.map { ByteBuffer(bytes: $0) })
    return HTTPReply(
      status: response.status.code, headers: response.headers.map { ($0.name.rawName, $0.value) },
      body: Array(response.body.readableBytesView), chunked: false, chunkSizes: [])
  }

  func get(_ target: String, headers: [(String, String)] = []) async throws -> HTTPReply {
    try await request("GET", target, headers: headers)
  }

  func post(_ target: String, json: String, headers: [(String, String)] = []) async throws -> HTTPReply {
    try await request(
      "POST", target, headers: headers + [("Content-Type", "application/json")], body: Array(json.utf8))
  }

  /// `/api/conversations/<default id>/<path>`
  func conversationPath(_ path: String) -> String { "/api/conversations/\(conversationId)/\(path)" }
}

/// Runs `body` against the server `withServer` would start, without a
/// socket: its application under `.router`, for as long as `body` runs.
func withRouter(
  workspace: String? = nil, configure: (inout HTTPServerOptions) -> Void = { _ in },
  bridge: (inout BridgeOptions) -> Void = { _ in },
  _ body: @Sendable (TestRouter) async throws -> Void
) async throws {
  let (server, directory) = try TestServer.make(workspace: workspace, configure: configure, bridge: bridge)
  try await server.application(onListening: { _ in }).test(.router) { client in
    try await body(TestRouter(client: client, workspace: directory, dispatcher: server.dispatcher))
  }
}
