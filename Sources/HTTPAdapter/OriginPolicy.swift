import Hummingbird

/// Which browser pages may drive the server. A page from another origin
/// is hostile even on loopback: without this, any site the person visits
/// could POST a forged `submitFeedback`, or start a long zip with an
/// `<img>`, since neither needs to read the answer.
///
/// Browsers say where a request comes from, and pages cannot forge it:
/// `Origin` (every cross-origin request but a plain GET or navigation) and
/// `Sec-Fetch-Site` (every request, in current browsers). Tools that send
/// neither (curl, scripts, editors) are not browsers and pass.
///
/// - An `Origin` passes when it is the server's own as the request reached
///   it (`http://` + the `Host` it was sent to, which `HostPolicy` has
///   already vetted) or an `--allow-origin`; any other is refused, `null`
///   included (sandboxed frames, `file:` pages).
/// - Without `Origin`, `Sec-Fetch-Site: cross-site` or `same-site` is
///   refused (another port on localhost is the same site). The one
///   exception is a person following a link to the docs page or the API
///   document: a top-level navigation (`Sec-Fetch-Mode: navigate`,
///   `Sec-Fetch-Dest: document`) to a GET that only returns fixed bytes.
struct OriginPolicy: Sendable {
  /// `--allow-origin`, normalised (lowercase, no trailing slash).
  let allowed: Set<String>

  static let staticDocuments: Set<String> = DocsPage.paths.union(["/openapi.json"])

  init(allowOrigin: String?) {
    allowed = Set([allowOrigin].compactMap { $0.map(Self.normalise) })
  }

  static func normalise(_ origin: String) -> String {
    var origin = origin.lowercased()
    while origin.hasSuffix("/") { origin.removeLast() }
    return origin
  }

  /// Whether `--allow-origin` names an origin (`scheme://host[:port]`, no
  /// path): anything else would never match what a browser sends.
  static func isOrigin(_ value: String) -> Bool {
    let value = normalise(value)
    for scheme in ["http://", "https://"] where value.hasPrefix(scheme) {
      let authority = value.dropFirst(scheme.count)
      return !authority.isEmpty && !authority.contains(where: { "/?#@ ".contains($0) })
    }
    return false
  }

  func allows(_ request: Request) -> Bool {
    let origins = request.headers[values: .origin]
    if !origins.isEmpty {
      let own = request.head.authority.map { "http://" + $0.lowercased() }
      return origins.allSatisfy { origin in
        let origin = origin.lowercased()
        return origin == own || allowed.contains(origin)
      }
    }
    switch request.headers[.secFetchSite]?.lowercased() {
    case "cross-site", "same-site": return Self.isNavigationToStaticDocument(request)
    default: return true
    }
  }

  static func isNavigationToStaticDocument(_ request: Request) -> Bool {
    request.method == .get && staticDocuments.contains(request.uri.path)
      && request.headers[.secFetchMode]?.lowercased() == "navigate"
      && request.headers[.secFetchDest]?.lowercased() == "document"
  }

  static var refusal: Response { JSONResponse.make(403, ["detail": "Cross-origin request refused"]) }
}

/// A POST must say its body is JSON. HTML forms and `fetch` without a
/// preflight can only send `text/plain`, form encodings or no type at all,
/// so requiring `application/json` keeps every POST behind CORS.
enum JSONContentType {
  /// 415 in FastAPI's shape, or nil when the type is `application/json`
  /// (parameters such as `; charset=utf-8` allowed).
  static func refusal(_ request: Request) -> Response? {
    let type = request.headers[.contentType] ?? ""
    let media = type.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    if media.trimmingSpaces().lowercased() == "application/json" { return nil }
    return JSONResponse.make(415, ["detail": "Unsupported Media Type: the body must be application/json"])
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
    while let last = text.last, last == " " || last == "\t" { text.removeLast() }
    return text
  }
}

extension HTTPFields.Element.Name {
  static let secFetchSite = HeaderName("Sec-Fetch-Site")!
  static let secFetchMode = HeaderName("Sec-Fetch-Mode")!
  static let secFetchDest = HeaderName("Sec-Fetch-Dest")!
}
