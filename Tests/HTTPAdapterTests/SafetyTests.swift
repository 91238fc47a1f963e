import Foundation
import JSONRPC
import Testing

@testable import HTTPAdapter

/// Host checks (DNS rebinding), the session key, CORS and the start-time
/// refusal, against a real server.
@Suite struct SafetyTests {
  static let health = #"{"jsonrpc":"2.0","id":1,"method":"health"}"#

  @Test func loopbackAcceptsOnlyTheBoundAddressAndLocalhost() async throws {
    try await withServer { server in
      let accepted = ["127.0.0.1", "127.0.0.1:\(server.port)", "localhost", "LOCALHOST:9", "localhost:\(server.port)"]
      for host in accepted {
        let reply = try await server.request("GET", "/health", host: host)
        #expect(reply.status == 200, "Host: \(host)")
      }
      let refused = [
        "evil.example", "evil.example:\(server.port)", "127.0.0.1.evil.example", "localhost.evil.example",
        "[::1]:\(server.port)", "127.0.0.2", "0.0.0.0:\(server.port)",
      ]
      for host in refused {
        for path in ["/health", "/docs", server.conversationPath("config"), "/api/jsonrpc"] {
          let reply = try await server.request("GET", path, host: host)
          #expect(reply.status == 421, "Host: \(host) \(path)")
          #expect(reply.header("Cache-Control") == "no-store")
          #expect(reply.json?["detail"] != nil)
        }
      }
    }
  }

  @Test func keyGuardsEveryAPIPathButNotTheOpenOnes() async throws {
    try await withServer(configure: { $0.apiKey = "s3cret-key" }) { server in
      let probes: [(String, String)] = [
        ("POST", "/api/jsonrpc"), ("GET", server.conversationPath("config")), ("GET", "//api/jsonrpc"),
        ("GET", "/api/conversations/unknown/list-files"), ("GET", "/API/jsonrpc"), ("GET", "/api/nope"),
      ]
      for (method, path) in probes {
        for key in [nil, "wrong", "s3cret-ke", "s3cret-key-", "S3CRET-KEY", ""] as [String?] {
          let headers = key.map { [("X-Session-API-Key", $0)] } ?? []
          let reply = try await server.request(method, path, headers: headers, body: Array(Self.health.utf8))
          #expect(reply.status == 401, "\(method) \(path) key \(key ?? "none")")
          #expect(reply.text == #"{"detail":"Unauthorized"}"#)
          #expect(reply.header("Cache-Control") == "no-store")
        }
      }
      let good = try await server.post("/api/jsonrpc", json: Self.health, headers: [("X-Session-API-Key", "s3cret-key")])
      #expect(good.status == 200)
      #expect(good.json?["result"] == "OK")
      // Header names are case-insensitive.
      let lower = try await server.post("/api/jsonrpc", json: Self.health, headers: [("x-session-api-key", "s3cret-key")])
      #expect(lower.status == 200)
      for open in ["/health", "/alive", "/server_info", "/openapi.json", "/docs"] {
        #expect(try await server.get(open).status == 200, "\(open)")
      }
    }
  }

  @Test func keyComparisonLooksAtEveryByte() {
    let key = APIKey("abcdef")
    #expect(key.matches("abcdef"))
    #expect(!key.matches(nil))
    #expect(!key.matches(""))
    #expect(!key.matches("abcdeg"))
    #expect(!key.matches("bbcdef"))
    #expect(!key.matches("abcde"))
    #expect(!key.matches("abcdef\u{0}"))
    // Lengths 256 apart must not wrap to "equal".
    let long = APIKey(String(repeating: "a", count: 300))
    #expect(!long.matches(String(repeating: "a", count: 44)))
  }

  @Test func nonLoopbackNeedsAKey() throws {
    var options = HTTPServerOptions()
    options.host = "0.0.0.0"
    #expect(throws: HTTPServerError.self) { try options.validate() }
    options.host = "192.168.1.10"
    #expect(throws: HTTPServerError.self) { try options.validate() }
    options.host = "::"
    #expect(throws: HTTPServerError.self) { try options.validate() }
    options.apiKey = "k"
    try options.validate()
    options.apiKey = ""
    #expect(throws: HTTPServerError.self) { try options.validate() }
    for loopback in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
      var options = HTTPServerOptions()
      options.host = loopback
      try options.validate()
    }
  }

  @Test func allowedHostRestrictsANonLoopbackBind() async throws {
    try await withServer(configure: {
      $0.host = "0.0.0.0"
      $0.apiKey = "k"
      $0.allowedHosts = ["dev.example.com", "10.0.0.5:8443"]
    }) { (server) async throws in
      for host in ["dev.example.com", "DEV.example.com:3000", "10.0.0.5:8443"] {
        #expect(try await server.request("GET", "/health", host: host).status == 200, "\(host)")
      }
      for host in ["evil.example", "10.0.0.5:9000", "localhost", "127.0.0.1"] {
        #expect(try await server.request("GET", "/health", host: host).status == 421, "\(host)")
      }
    }
  }

  @Test func nonLoopbackWithoutAllowListAcceptsAnyHost() async throws {
    try await withServer(configure: {
      $0.host = "0.0.0.0"
      $0.apiKey = "k"
    }) { (server) async throws in
      #expect(try await server.request("GET", "/health", host: "anything.example").status == 200)
    }
  }

  @Test func corsIsOffUnlessAnOriginIsAllowed() async throws {
    try await withServer { off in
      let plain = try await off.request("GET", "/health", headers: [("Origin", "http://localhost:5173")])
      #expect(plain.header("Access-Control-Allow-Origin") == nil)

      try await withServer(configure: {
        $0.allowOrigin = "http://localhost:5173"
        $0.apiKey = "k"
      }) { on in
        let preflight = try await on.request(
          "OPTIONS", "/api/jsonrpc",
          headers: [
            ("Origin", "http://localhost:5173"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-session-api-key, content-type"),
          ])
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "http://localhost:5173")
        #expect(preflight.header("Access-Control-Allow-Headers")?.lowercased().contains("x-session-api-key") == true)
        #expect(preflight.header("Cache-Control") == "no-store")
        let call = try await on.post(
          "/api/jsonrpc", json: Self.health, headers: [("Origin", "http://localhost:5173"), ("X-Session-API-Key", "k")])
        #expect(call.status == 200)
        #expect(call.header("Access-Control-Allow-Origin") == "http://localhost:5173")
        let unauthorized = try await on.post("/api/jsonrpc", json: Self.health, headers: [("Origin", "http://localhost:5173")])
        #expect(unauthorized.status == 401)
      }
    }
  }

  @Test func oversizedBodyIsRefused() async throws {
    try await withServer(configure: { $0.maxBodyBytes = 1000 }) { server in
      let big = #"{"jsonrpc":"2.0","id":1,"method":"health","params":{"pad":""#
        + String(repeating: "x", count: 2000) + #""}}"#
      let reply = try await server.post("/api/jsonrpc", json: big)
      #expect(reply.json?["error"]?["code"] == .int(-32600))
    }
  }
}
