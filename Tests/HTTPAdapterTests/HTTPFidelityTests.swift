import Foundation
import HTTPAdapter
import JSONRPC
import Testing

/// What FastAPI (and so OpenHands) answers for a request that names a
/// route slightly wrong: the seed's `/swagger-ui/` link, a method the route
/// does not take, a trailing slash, an `OPTIONS` outside CORS. Over a real
/// loopback socket, each compared with what Starlette sends.
@Suite struct HTTPFidelityTests {
  static let undeclared = ["HEAD", "TRACE", "PUT", "DELETE", "PATCH", "OPTIONS"]

  @Test func swaggerUIServesTheDocsPage() async throws {
    try await withServer { server in
      let docs = try await server.get("/docs")
      for path in ["/swagger-ui/", "/swagger-ui"] {
        let reply = try await server.get(path)
        #expect(reply.status == 200, "\(path)")
        #expect(reply.header("Content-Type")?.hasPrefix("text/html") == true, "\(path)")
        #expect(reply.body == docs.body, "\(path)")
      }
      // A page of its own, not a redirect to `/swagger-ui` or `/docs`.
      #expect(try await server.get("/swagger-ui//").status == 307)
      #expect(try await server.get("/swagger-ui/index.html").status == 404)
    }
  }

  @Test func swaggerUIIsOpenLikeDocsWhenAKeyIsSet() async throws {
    try await withServer(configure: { $0.apiKey = "k3y" }) { server in
      for path in ["/swagger-ui/", "/swagger-ui", "/docs"] {
        #expect(try await server.get(path).status == 200, "\(path)")
      }
      // A link followed from another site reaches it, as it reaches /docs.
      let navigation = try await server.get(
        "/swagger-ui/", headers: [("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")])
      #expect(navigation.status == 200)
    }
  }

  @Test func everyUndeclaredMethodOnAKnownPathIs405WithAllow() async throws {
    try await withServer { server in
      let paths: [(String, String)] = [
        (server.conversationPath("list-files"), "GET"), (server.conversationPath("git/diff"), "GET"),
        (server.conversationPath("submit-feedback"), "POST"), ("/api/conversations/unknown-id/config", "GET"),
        ("/health", "GET"), ("/alive", "GET"), ("/server_info", "GET"), ("/api/jsonrpc", "POST"),
        ("/openapi.json", "GET"), ("/docs", "GET"), ("/swagger-ui/", "GET"), ("/swagger-ui", "GET"),
      ]
      for (path, allow) in paths {
        for method in Self.undeclared + [allow == "GET" ? "POST" : "GET"] {
          let reply = try await server.request(method, path)
          #expect(reply.status == 405, "\(method) \(path)")
          #expect(reply.header("Allow") == allow, "\(method) \(path)")
          #expect(reply.header("Cache-Control") == "no-store", "\(method) \(path)")
          #expect(reply.text == (method == "HEAD" ? "" : #"{"detail":"Method Not Allowed"}"#), "\(method) \(path)")
        }
      }
    }
  }

  @Test func unknownPathsStay404WhateverTheMethod() async throws {
    try await withServer { server in
      for method in Self.undeclared + ["GET", "POST"] {
        for path in ["/nope", "/", "/api/conversations/x/no-such-route", "//health", "/api//jsonrpc", "/Health"] {
          let reply = try await server.request(method, path)
          #expect(reply.status == 404, "\(method) \(path)")
          if method != "HEAD" { #expect(reply.text == #"{"detail":"Not Found"}"#, "\(method) \(path)") }
        }
      }
    }
  }

  /// A refusal to HEAD has no body, or a client keeping the connection
  /// would read it as the start of the next reply.
  @Test func headRefusalLeavesTheConnectionUsable() async throws {
    try await withServer { server in
      let head = "HEAD /health HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\n\r\n"
      let get = "GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(server.port)\r\nConnection: close\r\n\r\n"
      let port = server.port
      let raw = try await RawHTTP.onThread { try RawHTTP.exchange(port: port, bytes: Array((head + get).utf8)) }
      let text = String(decoding: raw, as: UTF8.self)
      let replies = text.components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }
      #expect(replies.count == 2, "\(text)")
      #expect(replies.first?.hasPrefix("405") == true, "\(text)")
      #expect(replies.last?.hasPrefix("200") == true, "\(text)")
      #expect(text.hasSuffix("\r\n\r\n\"OK\""), "\(text)")
    }
  }

  @Test func trailingSlashRedirects307ToTheRouteWithTheQueryKept() async throws {
    try await withServer { server in
      let files = server.conversationPath("list-files")
      let cases: [(String, String, String)] = [
        ("GET", files + "/?path=src&x=%2F", files + "?path=src&x=%2F"), ("GET", files + "/", files),
        ("GET", files + "///", files), ("GET", "/health/", "/health"), ("POST", "/api/jsonrpc/", "/api/jsonrpc"),
        ("GET", "/docs/", "/docs"), ("GET", "/openapi.json/?", "/openapi.json"),
        // Starlette redirects whatever the method; the route then says 405.
        ("TRACE", files + "/", files),
      ]
      for (method, target, location) in cases {
        let reply = try await server.request(method, target)
        #expect(reply.status == 307, "\(method) \(target)")
        #expect(reply.header("Location") == location, "\(method) \(target)")
        #expect(reply.body.isEmpty, "\(method) \(target)")
        #expect(reply.header("Cache-Control") == "no-store", "\(method) \(target)")
      }
      for target in ["/nope/", "/api/conversations/", "/api/conversations/x/no-such-route/"] {
        #expect(try await server.get(target).status == 404, "\(target)")
      }
      // Following the redirect gets the route's own answer.
      let followed = try await server.get(files + "?path=")
      #expect(followed.status == 200)
    }
  }

  @Test func optionsWithoutAllowOriginIs405() async throws {
    try await withServer { server in
      let preflight = try await server.request(
        "OPTIONS", server.conversationPath("submit-feedback"),
        headers: [("Origin", "http://127.0.0.1:\(server.port)"), ("Access-Control-Request-Method", "POST")])
      #expect(preflight.status == 405)
      #expect(preflight.header("Allow") == "POST")
      #expect(preflight.header("Access-Control-Allow-Origin") == nil)
    }
  }

  @Test func withAllowOriginAPreflightIsStillCORSAndAPlainOptionsIs405() async throws {
    try await withServer(configure: { $0.allowOrigin = "http://localhost:5173" }) { server in
      let preflight = try await server.request(
        "OPTIONS", server.conversationPath("submit-feedback"),
        headers: [("Origin", "http://localhost:5173"), ("Access-Control-Request-Method", "POST")])
      #expect(preflight.status == 204)
      #expect(preflight.header("Access-Control-Allow-Origin") == "http://localhost:5173")
      let plain = try await server.request("OPTIONS", server.conversationPath("submit-feedback"))
      #expect(plain.status == 405)
      #expect(plain.header("Allow") == "POST")
    }
  }

  /// The Host, Origin and key checks still come first: none of the answers
  /// above tells a refused client which paths exist.
  @Test func safetyChecksComeBeforeThe405And307() async throws {
    try await withServer(configure: { $0.apiKey = "k3y" }) { server in
      let files = server.conversationPath("list-files")
      for (method, target) in [("TRACE", files), ("GET", files + "/"), ("PUT", "/api/jsonrpc"), ("GET", "/nope")] {
        let noKey = try await server.request(method, target)
        #expect(noKey.status == 401, "\(method) \(target)")
        let rebound = try await server.request(method, target, headers: [("X-Session-API-Key", "k3y")], host: "evil.example")
        #expect(rebound.status == 421, "\(method) \(target)")
        let foreign = try await server.request(
          method, target, headers: [("X-Session-API-Key", "k3y"), ("Origin", "http://evil.example")])
        #expect(foreign.status == 403, "\(method) \(target)")
      }
      let keyed = try await server.request("TRACE", files, headers: [("X-Session-API-Key", "k3y")])
      #expect(keyed.status == 405)
      let slashed = try await server.request("GET", files + "/", headers: [("X-Session-API-Key", "k3y")])
      #expect(slashed.status == 307)
    }
  }
}

/// Where Schemathesis found the OpenAPI document and the server disagreeing
/// (scripts/schemathesis runs it whole): each case, both sides.
@Suite struct OpenAPIAgreementTests {
  func document(_ server: TestServer) async throws -> JSONValue {
    try #require(try await server.get("/openapi.json").json)
  }

  @Test func aBodylessJSONRPCPostIsRefusedAsTheDocumentSays() async throws {
    try await withServer { server in
      let operation = try await document(server)["paths"]?["/api/jsonrpc"]?["post"]
      #expect(operation?["requestBody"]?["required"] == true)
      #expect(operation?["responses"]?["400"] != nil)
      let reply = try await server.request("POST", "/api/jsonrpc", headers: [("Content-Type", "application/json")])
      #expect(reply.status == 400)
      #expect(reply.json?["detail"]?.stringValue?.contains("body required") == true)
      // Anything JSON is answered in-band, as JSON-RPC says.
      let odd = try await server.post("/api/jsonrpc", json: "[[null, null]]")
      #expect(odd.status == 200)
      #expect(odd.json?.arrayValue?.first?["error"]?["code"] == .int(-32600))
    }
  }

  @Test func emptyNamesAreDeclaredInvalidAndRefused() async throws {
    // A repository, so that a ref is looked up at all.
    let workspace = try TemporaryDirectory.make("openapi-repo")
    let git = try #require(which("git"))
    for arguments in [
      ["init", "-q"], ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "i"],
    ] {
      #expect(try runProcess(git, ["-C", workspace] + arguments).0 == 0)
    }
    try await withServer(workspace: workspace) { server in
      let paths = try #require(try await document(server)["paths"])
      for (path, name) in [
        ("select-file", "file"), ("git/diff", "path"), ("git/diff", "ref"), ("git/changes", "ref"),
      ] {
        let parameters = paths["/api/conversations/{conversation_id}/\(path)"]?["get"]?["parameters"]?.arrayValue ?? []
        let parameter = parameters.first { $0["name"] == .string(name) }
        #expect(parameter?["schema"]?["minLength"] == .int(1), "\(path) \(name)")
      }
      for target in ["select-file?file=", "git/diff?path=", "git/diff?path=a.txt&ref=", "git/changes?ref="] {
        let reply = try await server.get(server.conversationPath(target))
        #expect((400..<500).contains(reply.status), "\(target): \(reply.status) \(reply.text)")
      }
    }
  }

  @Test func optionalBodyMembersMayBeNullAsTheServerTakesThem() async throws {
    try await withServer { server in
      let body = try await document(server)["paths"]?["/api/conversations/{conversation_id}/submit-feedback"]?["post"]?[
        "requestBody"]?["content"]?["application/json"]?["schema"]
      #expect(body?["properties"]?["feedback"]?["anyOf"]?.arrayValue?.last == ["type": "null"])
      #expect(body?["properties"]?["polarity"]?["anyOf"] == nil, "a required member is not nullable")
      let reply = try await server.post(
        server.conversationPath("submit-feedback"), json: #"{"polarity":"positive","feedback":null,"email":null}"#)
      #expect(reply.status == 200)
    }
  }

  @Test func theEventStreamSchemaDescribesOneEvent() async throws {
    try await withServer { server in
      let schema = try await document(server)["paths"]?["/api/conversations/{conversation_id}/events"]?["get"]?[
        "responses"]?["200"]?["content"]?["text/event-stream"]?["schema"]
      #expect(schema?["type"] == "object")
      #expect(schema?["required"] == ["event", "data"])
    }
  }
}
