import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Support
import Synchronization

/// POSTs to the feedback URL, `http://` or `https://`, over AsyncHTTPClient.
///
/// What it will not do, whatever the receiver answers or the environment
/// says:
/// - follow a redirect: a 3xx is returned as the status, so a receiver
///   cannot send the trajectory to another host or scheme;
/// - use a proxy: AsyncHTTPClient reads no `HTTP_PROXY`/`HTTPS_PROXY`, and
///   none is configured, since the records go exactly where the operator's
///   URL says (the bridge may run beside an agent that sets those variables);
/// - buffer a response: at most `maxDrain` bytes of the body are read, for at
///   most `drainTime`, and dropped; the head is bounded by NIO's HTTP parser;
/// - decompress a body, or retry a connection on its own: the forwarder owns
///   the retry policy, so a refused port fails at once;
/// - verify less: TLS verifies the chain and the host name, against the
///   system's roots (NIOSSL's default: the distribution's CA bundle on Linux,
///   the keychain on Darwin) or, with a CA file, against that file only.
///
/// The `HTTPClient` is made on the first POST, not before: a bridge that
/// never forwards never starts it, and start-up does not pay for it. It must
/// be shut down before it is released; `shutdown()` does that, and so does
/// `deinit` as a fallback, so a poster dropped on an error path cannot crash
/// a debug build.
public final class FeedbackPoster: Sendable {
  /// Why a POST produced no status code.
  public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// The deadline passed (rather than the peer refusing or breaking).
    public var timedOut: Bool
    public init(_ reason: String, timedOut: Bool = false) {
      self.reason = reason
      self.timedOut = timedOut
    }
    public var description: String { reason }
  }

  /// Where to POST: a parsed `http(s)://host[:port][/path][?query]` URL.
  public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`, lowercased.
    public let scheme: String
    /// A name or an address literal (IPv6 without its brackets).
    public let host: String
    public let port: UInt16
    /// Path and query, as sent on the request line.
    public let target: String
    let original: String

    public init(url: String) throws(Failure) {
      // Spaces or control characters would let a URL inject header lines.
      guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
        throw Failure("got '\(url)', which contains spaces or control characters")
      }
      guard let separator = url.firstRange(of: "://") else { throw Failure("got '\(url)'") }
      scheme = url[..<separator.lowerBound].lowercased()
      guard scheme == "http" || scheme == "https" else { throw Failure("got '\(url)'") }
      let rest = url[separator.upperBound...].prefix { $0 != "#" }
      let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
      let authority = rest[..<authorityEnd]
      let target = String(rest[authorityEnd...])
      self.target = target.isEmpty ? "/" : target.first == "?" ? "/" + target : target
      guard !authority.contains("@") else { throw Failure("user info is not supported, got '\(url)'") }

      let host: Substring
      let portText: Substring?
      if authority.first == "[" {
        guard let close = authority.firstIndex(of: "]") else { throw Failure("unclosed '[' in '\(url)'") }
        host = authority[authority.index(after: authority.startIndex)..<close]
        let after = authority[authority.index(after: close)...]
        guard after.isEmpty || after.first == ":" else { throw Failure("junk after ']' in '\(url)'") }
        portText = after.isEmpty ? nil : after.dropFirst()
      } else if let colon = authority.firstIndex(of: ":") {
        host = authority[..<colon]
        portText = authority[authority.index(after: colon)...]
      } else {
        host = authority
        portText = nil
      }
      guard !host.isEmpty else { throw Failure("no host in '\(url)'") }
      self.host = String(host)
      if let portText, !portText.isEmpty {
        guard portText.allSatisfy(\.isASCII), let port = UInt16(portText), port > 0 else {
          throw Failure("bad port in '\(url)'")
        }
        self.port = port
      } else {
        port = scheme == "https" ? 443 : 80
      }
      original = url
    }

    public var description: String { original }

    /// `host:port` for messages, with brackets around IPv6.
    var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL rebuilt from the checked parts, so the client connects to
    /// exactly what was validated (no fragment, no user info).
    var requestURL: String { "\(scheme)://\(address)\(target)" }
  }

  /// After the status line, at most this much body is read and dropped.
  static let maxDrain = 64 * 1024
  /// After the status line, at most this long is spent draining the body.
  static let drainTime: Duration = .seconds(1)

  public let endpoint: Endpoint
  private let configuration: HTTPClient.Configuration
  private let client = Mutex(ClientState.notStarted)

  private enum ClientState {
    case notStarted
    case running(HTTPClient)
    case shutDown
  }

  /// - Parameter trustRootsFile: a PEM file whose certificates are the only
  ///   roots an https receiver's chain may lead to; nil trusts the system's.
  ///   Read here, so a bad file is an error at start, not at each attempt.
  public init(endpoint: Endpoint, trustRootsFile: String? = nil) throws(Failure) {
    self.endpoint = endpoint
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.minimumTLSVersion = .tlsv12
    if let trustRootsFile {
      let certificates: [NIOSSLCertificate]
      do {
        certificates = try NIOSSLCertificate.fromPEMFile(trustRootsFile)
      } catch {
        throw Failure("cannot read the CA file '\(trustRootsFile)': \(error)")
      }
      guard !certificates.isEmpty else { throw Failure("no PEM certificate in the CA file '\(trustRootsFile)'") }
      tls.trustRoots = .certificates(certificates)
    }
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls, redirectConfiguration: .disallow, proxy: nil, decompression: .disabled)
    configuration.httpVersion = .http1Only
    configuration.connectionPool.retryConnectionEstablishment = false
    self.configuration = configuration
  }

  deinit {
    if case .running(let client) = client.withLock({ $0 }) {
      // Shutting down keeps the client alive until it is done.
      client.shutdown { _ in }
    }
  }

  /// Closes the connections; a POST after this fails.
  public func shutdown() async {
    let running = client.withLock { state -> HTTPClient? in
      defer { state = .shutDown }
      if case .running(let client) = state { return client }
      return nil
    }
    try? await running?.shutdown()
  }

  private func started() throws(Failure) -> HTTPClient {
    try client.withLock { state throws(Failure) -> HTTPClient in
      switch state {
      case .running(let client):
        return client
      case .shutDown:
        throw Failure("the feedback client is shut down")
      case .notStarted:
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        state = .running(client)
        return client
      }
    }
  }

  /// POSTs `body` and returns the response's status code.
  ///
  /// Throws `Failure` (with a reason fit for a log line) when there is no
  /// status code, or `CancellationError` when the task was cancelled.
  public func post(_ body: [UInt8], contentType: String = "application/json", timeout: Duration) async throws
    -> Int
  {
    try Task.checkCancellation()
    let deadline = ContinuousClock.now + timeout
    var request = HTTPClientRequest(url: endpoint.requestURL)
    request.method = .POST
    request.headers.add(name: "User-Agent", value: "\(BridgeVersion.name)/\(BridgeVersion.version)")
    request.headers.add(name: "Content-Type", value: contentType)
    request.body = .bytes(body)
    let response: HTTPClientResponse
    do {
      response = try await started().execute(request, deadline: .now() + TimeAmount(timeout))
    } catch {
      if Task.isCancelled { throw CancellationError() }
      throw describe(error)
    }
    // The status is what counts: a body that stalls or breaks changes nothing.
    await Self.drain(response.body, until: min(deadline, .now + Self.drainTime))
    return Int(response.status.code)
  }

  /// Reads and drops at most `maxDrain` bytes until `deadline`, so the
  /// server sees its answer read rather than a reset; stopping early
  /// cancels the rest of the response.
  static func drain(_ body: HTTPClientResponse.Body, until deadline: ContinuousClock.Instant) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        var drained = 0
        do {
          for try await chunk in body {
            drained += chunk.readableBytes
            if drained >= maxDrain { return }
          }
        } catch {}
      }
      group.addTask { try? await Task.sleep(until: deadline) }
      await group.next()
      group.cancelAll()
    }
  }

  /// A log line for why there is no status, in the words of the phase
  /// that failed.
  func describe(_ error: any Error) -> Failure {
    let name = endpoint.address
    switch error {
    case let failure as Failure:
      return failure
    case let error as HTTPClientError where error == .deadlineExceeded:
      return Failure("timed out waiting for the response", timedOut: true)
    case let error as HTTPClientError where error == .connectTimeout:
      return Failure("timed out connecting to \(name)", timedOut: true)
    case let error as HTTPClientError where error == .remoteConnectionClosed:
      return Failure("the server closed the connection without answering")
    case ChannelError.connectTimeout:
      return Failure("timed out connecting to \(name)", timedOut: true)
    case let error as NIOConnectionError:
      if let dns = error.dnsAError ?? error.dnsAAAAError, error.connectionErrors.isEmpty {
        return Failure("cannot resolve \(endpoint.host): \(Self.text(dns))")
      }
      return Failure("cannot connect to \(name): \(error.connectionErrors.first.map { Self.text($0.error) } ?? "no address")")
    case let error as IOError:
      return Failure("cannot connect to \(name): \(Self.text(error))")
    case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
      return Failure("TLS with \(name) failed: \(error)")
    case is HTTPParserError:
      return Failure("not an HTTP/1.x response from \(name): \(error)")
    default:
      return Failure("POST to \(name) failed: \(error)")
    }
  }

  /// `strerror` for system errors, the error's own words otherwise.
  static func text(_ error: any Error) -> String {
    if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
    return "\(error)"
  }
}

extension TimeAmount {
  fileprivate init(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }
}
