import BridgeProtocol
import Foundation
import HTTPAdapter
import JSONRPC
import TestSupport
import Testing

/// The server's own paths and the JSON-RPC door, answered in-process
/// (`withRouter`): statuses, headers and bodies of single requests.
@Suite struct ServerRouteTests {
  @Test func healthIsTheJSONStringOK() async throws {
    try await withRouter { server in
      let reply = try await server.get("/health")
      #expect(reply.status == 200)
      #expect(reply.text == #""OK""#)
      #expect(reply.header("Content-Type") == "application/json")
      #expect(reply.header("Cache-Control") == "no-store")
    }
  }

  @Test func aliveAndServerInfo() async throws {
    try await withRouter { server in
      let alive = try await server.get("/alive")
      #expect(alive.status == 200)
      #expect(alive.text == #"{"status":"ok"}"#)
      #expect(alive.header("Cache-Control") == "no-store")

      let info = try await server.get("/server_info")
      #expect(info.status == 200)
      let json = try #require(info.json)
      #expect(json["version"]?.stringValue?.isEmpty == false)
      #expect((json["uptime"]?.doubleValue ?? -1) >= 0)
      #expect((json["idle_time"]?.doubleValue ?? -1) >= 0)
    }
  }

  @Test func unknownPathIsFastAPIsNotFound() async throws {
    try await withRouter { server in
      for path in ["/nope", "/api/conversations", "/api/conversations/x/no-such-route"] {
        let reply = try await server.get(path)
        #expect(reply.status == 404, "\(path)")
        #expect(reply.text == #"{"detail":"Not Found"}"#, "\(path)")
        #expect(reply.header("Cache-Control") == "no-store", "\(path)")
      }
    }
  }

  /// FastAPI answers a known path asked with the wrong method with 405 and
  /// the methods it takes; an unknown path stays 404 whatever the method.
  @Test func wrongMethodOnAKnownPathIsFastAPIsMethodNotAllowed() async throws {
    try await withRouter { server in
      let files = "/api/conversations/\(server.conversationId)/list-files"
      let feedback = "/api/conversations/\(server.conversationId)/submit-feedback"
      for (method, path, allow) in [
        ("POST", files, "GET"), ("DELETE", files, "GET"), ("GET", feedback, "POST"), ("PUT", "/api/jsonrpc", "POST"),
        ("POST", "/health", "GET"), ("POST", "/docs", "GET"),
      ] {
        let reply = try await server.request(method, path, body: method == "GET" ? nil : Array("{}".utf8))
        #expect(reply.status == 405, "\(method) \(path)")
        #expect(reply.text == #"{"detail":"Method Not Allowed"}"#, "\(method) \(path)")
        #expect(reply.header("Allow") == allow, "\(method) \(path)")
      }
      let unknown = try await server.request("POST", "/nope", body: Array("{}".utf8))
      #expect(unknown.status == 404)
    }
  }

  @Test func everyRegistryRouteIsServed() async throws {
    try await withRouter { server in
      #expect(!RESTMapping.endpoints.isEmpty)
      for endpoint in RESTMapping.endpoints {
        let path = endpoint.route.template.replacingOccurrences(
          of: "{conversation_id}", with: server.conversationId)
        let reply =
          endpoint.route.verb == .post
          ? try await server.post(path, json: "{}") : try await server.get(path)
        // Whatever the method answers (a result or its own error), the route
        // exists: the router's 404 body is not what comes back.
        #expect(reply.text != #"{"detail":"Not Found"}"#, "\(endpoint.method) at \(path)")
        #expect(reply.header("Cache-Control") == "no-store")
      }
    }
  }

  // MARK: POST /api/jsonrpc

  @Test func jsonRPCSingleRequest() async throws {
    try await withRouter { server in
      let reply = try await server.post("/api/jsonrpc", json: #"{"jsonrpc":"2.0","id":"a","method":"health"}"#)
      #expect(reply.status == 200)
      #expect(reply.text == #"{"jsonrpc":"2.0","id":"a","result":"OK"}"#)
    }
  }

  /// A POST has no channel to push notifications on: subscribe is refused
  /// (-32600) and starts no watcher.
  @Test func jsonRPCSubscribeIsRefused() async throws {
    try await withRouter { server in
      let reply = try await server.post(
        "/api/jsonrpc", json: #"{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["files","git"]}}"#)
      #expect(reply.json?["error"]?["code"] == -32600)
      #expect(server.dispatcher.subscriptions.count == 0)
      #expect(server.dispatcher.subscriptions.watchState(conversationId: server.conversationId) == nil)
    }
  }

  /// `--max-batch` bounds an HTTP batch as it bounds a stdio one: one
  /// -32600 for the whole batch, none of which runs.
  @Test func jsonRPCBatchOverTheLimitIsRefusedWhole() async throws {
    try await withRouter(configure: { $0.maxBatchLength = 3 }) { server in
      let request = #"{"jsonrpc":"2.0","id":1,"method":"health"}"#
      let four = "[" + Array(repeating: request, count: 4).joined(separator: ",") + "]"
      let refused = try await server.post("/api/jsonrpc", json: four)
      #expect(refused.status == 200)
      let error = try #require(refused.json)
      #expect(error["id"] == .null)
      #expect(error["error"]?["code"] == -32600)
      #expect(error["error"]?["message"]?.stringValue?.contains("3-message limit (--max-batch)") == true)
      let three = "[" + Array(repeating: request, count: 3).joined(separator: ",") + "]"
      #expect(try await server.post("/api/jsonrpc", json: three).json?.arrayValue?.count == 3)
    }
  }

  @Test func jsonRPCBatchKeepsOrderAndTheStdioRules() async throws {
    try await withRouter { server in
      let batch = """
        [{"jsonrpc":"2.0","id":1,"method":"health"},
         {"jsonrpc":"2.0","method":"initialized"},
         {"jsonrpc":"2.0","id":2,"method":"noSuchMethod"},
         {"jsonrpc":"2.0","id":1,"method":"health"},
         7,
         {"jsonrpc":"2.0","id":3,"method":"listConversations"}]
        """
      let reply = try await server.post("/api/jsonrpc", json: batch)
      #expect(reply.status == 200)
      let replies = try #require(reply.json?.arrayValue)
      #expect(replies.count == 5)
      #expect(replies[0] == ["jsonrpc": "2.0", "id": 1, "result": "OK"])
      #expect(replies[1]["error"]?["code"] == .int(-32601))
      #expect(replies[2]["id"] == .int(1))
      #expect(replies[2]["error"]?["code"] == .int(-32600))
      #expect(replies[3]["id"] == .null)
      #expect(replies[3]["error"]?["code"] == .int(-32600))
      #expect(replies[4]["result"]?.arrayValue?.first?["conversationId"] == .string(server.conversationId))
    }
  }

  @Test func jsonRPCEdgeCases() async throws {
    try await withRouter { server in
      let empty = try await server.post("/api/jsonrpc", json: "[]")
      #expect(empty.status == 200)
      #expect(empty.json?["error"]?["code"] == .int(-32600))
      #expect(empty.json?["id"] == .null)

      let notJSON = try await server.post("/api/jsonrpc", json: "{nope")
      #expect(notJSON.status == 200)
      #expect(notJSON.json?["error"]?["code"] == .int(-32700))

      let notifications = try await server.post(
        "/api/jsonrpc", json: #"[{"jsonrpc":"2.0","method":"initialized"},{"jsonrpc":"2.0","method":"exit"}]"#)
      #expect(notifications.status == 204)
      #expect(notifications.body.isEmpty)
      // `exit` over HTTP ends nothing.
      #expect(try await server.get("/health").status == 200)
    }
  }

  @Test func jsonRPCRefusesMethodsThatChangeWhatIsServed() async throws {
    try await withRouter { server in
      let other = try TemporaryDirectory.make("other")
      for call in [
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"rootPath":"/"}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"openConversation","params":{"workspace":"\#(other)"}}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#,
      ] {
        let reply = try await server.post("/api/jsonrpc", json: call)
        #expect(reply.json?["error"]?["code"] == .int(-32601), "\(call)")
      }
      // zipDirectory's destination writes a file anywhere: not over HTTP.
      let target = other + "/out.zip"
      let zip = try await server.post(
        "/api/jsonrpc",
        json: #"{"jsonrpc":"2.0","id":1,"method":"zipDirectory","params":{"destination":"\#(target)"}}"#)
      #expect(zip.json?["error"]?["code"] == .int(-32602), "\(zip.text)")
      #expect(!FileManager.default.fileExists(atPath: target))
      let inline = try await server.post(
        "/api/jsonrpc", json: #"{"jsonrpc":"2.0","id":1,"method":"zipDirectory","params":{"destination":null}}"#)
      #expect(inline.json?["result"]?["filename"] == "workspace.zip")
      #expect(server.dispatcher.conversations.all.count == 1)
      #expect(server.dispatcher.conversations.defaultConversation.workspace != "/")
    }
  }

  @Test func jsonWrittenCompactWithRawUTF8() async throws {
    let directory = try TemporaryDirectory.make("ünïcødé-✓")
    try await withRouter(workspace: directory) { server in
      let reply = try await server.post("/api/jsonrpc", json: #"{"jsonrpc":"2.0","id":1,"method":"listConversations"}"#)
      #expect(reply.text.contains("ünïcødé-✓"))
      #expect(!reply.text.contains("\\u"))
      #expect(!reply.text.contains(": "))
    }
  }

  // MARK: /openapi.json and /docs

  @Test func openAPIListsEveryRoute() async throws {
    try await withRouter { server in
      let reply = try await server.get("/openapi.json")
      #expect(reply.status == 200)
      let document = try #require(reply.json)
      #expect(document["openapi"] == "3.1.0")
      let paths = try #require(document["paths"]?.objectValue)
      for endpoint in RESTMapping.endpoints {
        let verb = endpoint.route.verb.rawValue.lowercased()
        #expect(paths[endpoint.route.template]?[verb]?["operationId"] == .string(endpoint.method))
      }
      for path in ["/alive", "/server_info", "/api/jsonrpc", "/openapi.json", "/docs"] {
        #expect(paths[path] != nil, "\(path)")
      }
    }
  }

  @Test func openAPIPassesOpenapiSpecValidator() async throws {
    guard let python = which("python3") else {
      print("SKIPPED openAPIPassesOpenapiSpecValidator: python3 is not installed")
      return
    }
    try await withRouter { server in
      let reply = try await server.get("/openapi.json")
      let file = try TemporaryDirectory.make("openapi") + "/openapi.json"
      try Data(reply.body).write(to: URL(fileURLWithPath: file))
      let script = """
        import json, sys
        try:
            from openapi_spec_validator import validate
        except ImportError:
            sys.exit("openapi-spec-validator is missing: pip install openapi-spec-validator (.ci/run does)")
        validate(json.load(open(sys.argv[1])))
        print("valid")
        """
      let (status, output) = try runProcess(python, ["-c", script, file])
      #expect(status == 0, "openapi-spec-validator: \(output)")
      #expect(output.contains("valid"))
    }
  }

  @Test func docsPageIsSelfContainedHTML() async throws {
    try await withRouter { server in
      let reply = try await server.get("/docs")
      #expect(reply.status == 200)
      #expect(reply.header("Content-Type")?.hasPrefix("text/html") == true)
      #expect(reply.text.contains("/openapi.json"))
      // Nothing from outside the project: no remote scripts, styles or fonts.
      #expect(!reply.text.contains("http://"))
      #expect(!reply.text.contains("https://"))
      #expect(!reply.text.contains("<script src"))
    }
  }
}

/// Runs a program to its end; returns its status and its stdout+stderr.
func runProcess(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (Int32, String) {
  let result = try Program.run(path, arguments, environment: environment)
  return (result.status, result.allOutput)
}
