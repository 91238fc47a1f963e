import BridgeProtocol
import JSONRPC

/// getConfig, vscodeUrl, webHosts: the conversation's runtime facts, as the
/// command line or the config file gave them. No I/O, so answered inline.
enum RuntimeHandlers {
  static func register(into table: inout HandlerTable) {
    table.inline(GetConfigRequest.self) { _, scope in
      let conversation = scope.conversation
      return GetConfigRequest.Result(runtimeId: conversation.runtime.runtimeId, sessionId: conversation.id)
    }
    table.inline(VscodeUrlRequest.self) { _, scope in
      let conversation = scope.conversation
      return VscodeUrlRequest.Result(vscodeURL: conversation.runtime.vscodeURL(folder: conversation.workspace))
    }
    table.inline(WebHostsRequest.self) { _, scope in
      WebHostsRequest.Result(hosts: scope.conversation.runtime.webHosts)
    }
  }
}

extension RuntimeFacts {
  /// What vscodeUrl answers for a conversation whose workspace is `folder`.
  public func vscodeURL(folder: String) -> String? {
    RuntimeHandlers.vscodeURL(base: vscodeURL, token: vscodeToken, folder: folder)
  }
}

extension RuntimeHandlers {
  /// `BASE/?tkn=TOKEN&folder=FOLDER`, or `BASE/?folder=FOLDER` without a
  /// token, as OpenHands builds it; nil without a base. The folder keeps its
  /// slashes (`folder=/workspace`, as OpenHands writes it) and percent-encodes
  /// everything else outside RFC 3986's unreserved set, byte by byte.
  static func vscodeURL(base: String?, token: String?, folder: String) -> String? {
    guard var base, !base.isEmpty else { return nil }
    if base.hasSuffix("/") { base.removeLast() }
    var query = ""
    if let token, !token.isEmpty { query = "tkn=\(percentEncode(token, keepingSlashes: false))&" }
    query += "folder=\(percentEncode(folder, keepingSlashes: true))"
    return "\(base)/?\(query)"
  }

  static func percentEncode(_ text: String, keepingSlashes: Bool) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        out.append(byte)
      case UInt8(ascii: "/") where keepingSlashes:
        out.append(byte)
      default:
        out.append(UInt8(ascii: "%"))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
