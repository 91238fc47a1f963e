import JSONRPC

/// What `agent-bridge serve` is told on its command line.
public struct HTTPServerOptions: Sendable {
  /// The address to bind: loopback unless the person asks otherwise.
  public var host = "127.0.0.1"
  /// 0 picks a free port (tests); the bound one is reported when listening.
  public var port = 3000
  /// `--api-key` / `AGENT_BRIDGE_API_KEY`: every path but the public ones
  /// then needs `X-Session-API-Key`.
  public var apiKey: String?
  /// `--allowed-host`: on a non-loopback bind, the Host values accepted.
  public var allowedHosts: [String] = []
  /// `--allow-origin`: the one origin CORS admits; CORS is off without it.
  public var allowOrigin: String?
  /// Request bodies larger than this are refused (`POST` routes and
  /// `/api/jsonrpc`), like stdio's `--max-message-bytes`.
  public var maxBodyBytes = 64 << 20
  /// `--max-batch`: longer `/api/jsonrpc` batches are answered -32600 as a
  /// whole, as on stdio.
  public var maxBatchLength = Connection.Options.defaultMaxBatchLength
  /// `--request-timeout`: a connection that has not sent a whole request
  /// within this is closed (see `RequestTimeoutHandler`).
  public var requestTimeout: Duration = .seconds(30)
  /// Between heartbeat comments on an idle event stream (`GET .../events`).
  public var eventHeartbeat: Duration = .seconds(15)

  public init() {}

  /// Whether `host` names only this machine: 127.0.0.0/8, ::1 or localhost.
  public var bindsLoopback: Bool { Self.isLoopback(host) }

  static func isLoopback(_ host: String) -> Bool {
    let host = host.lowercased()
    if host == "localhost" || host == "::1" || host == "[::1]" { return true }
    let octets = host.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
  }

  /// Refuses what would expose the workspace: a non-loopback bind without a
  /// key, an empty key, a bad port.
  public func validate() throws(HTTPServerError) {
    if let apiKey, apiKey.isEmpty {
      throw HTTPServerError("--api-key (or AGENT_BRIDGE_API_KEY) is empty; give a real key or none")
    }
    guard (0...65535).contains(port) else { throw HTTPServerError("--port must be 0 to 65535, got \(port)") }
    guard maxBatchLength > 0 else { throw HTTPServerError("--max-batch must be positive") }
    guard requestTimeout > .zero else { throw HTTPServerError("--request-timeout must be positive") }
    if let allowOrigin, !OriginPolicy.isOrigin(allowOrigin) {
      throw HTTPServerError(
        "--allow-origin takes an origin such as http://localhost:5173 (scheme, host, optional port; no path), got '\(allowOrigin)'"
      )
    }
    if !bindsLoopback && apiKey == nil {
      throw HTTPServerError(
        """
        refusing to serve the workspace on \(host) without an API key: anyone who can reach \
        that address could read every file. Pass --api-key KEY (or set AGENT_BRIDGE_API_KEY), \
        or bind a loopback address (--host 127.0.0.1).
        """)
    }
    if !allowedHosts.isEmpty && bindsLoopback {
      throw HTTPServerError(
        "--allowed-host applies to a non-loopback --host; on loopback only the bound address and localhost are accepted"
      )
    }
  }
}

/// A reason `serve` cannot start.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
