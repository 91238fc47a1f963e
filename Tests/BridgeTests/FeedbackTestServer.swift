#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JSONRPC
import TestSupport

/// A real HTTP or HTTPS server on 127.0.0.1 (Python's http.server in a
/// subprocess, TLS from Python's ssl module, so the client meets a TLS stack
/// that is not its own): answers 500 to the first `failFirst` POSTs, then
/// `status`; logs every attempt's status, and the bodies it accepted with
/// 2xx.
final class FeedbackTestServer: Sendable {
  /// What follows the status line.
  enum Body: String {
    /// `{}`.
    case small
    /// A head saying a megabyte, ten bytes, then silence.
    case stall
    /// 64 MiB, as fast as the client takes it.
    case huge
  }

  let url: String
  private let process: SpawnedProcess
  private let attemptsPath: String
  private let receivedPath: String

  static let script = """
    import http.server, json, os, ssl, sys, threading
    # Exit when the test closes stdin or dies, so no server outlives it.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    config = json.loads(sys.argv[1])
    fail_first, status = config["failFirst"], config["status"]
    attempts_path, received_path = config["attempts"], config["received"]
    count = 0
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            global count
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if config["hang"]:
                open(received_path + ".hung", "w").close()
                threading.Event().wait()
            count += 1
            answer = 500 if count <= fail_first else status
            with open(attempts_path, "a") as f:
                f.write("%d\\n" % answer)
            if 200 <= answer < 300 and self.headers.get("Content-Type") == "application/json":
                with open(received_path, "ab") as f:
                    f.write(body + b"\\n")
            self.send_response(answer)
            if config["location"]:
                self.send_header("Location", config["location"])
            kind = config["body"]
            length = {"small": 2, "stall": 1 << 20, "huge": 64 << 20}[kind]
            self.send_header("Content-Length", str(length))
            self.end_headers()
            written = 0
            try:
                if kind == "small":
                    self.wfile.write(b"{}")
                    written = 2
                elif kind == "stall":
                    self.wfile.write(b"0123456789")
                    self.wfile.flush()
                    threading.Event().wait(30)
                else:
                    chunk = b"x" * 65536
                    while written < length:
                        self.wfile.write(chunk)
                        written += len(chunk)
            except OSError:
                pass
            with open(received_path + ".written", "a") as f:
                f.write("%d\\n" % written)
        def log_message(self, *args):
            pass
    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        def handle_error(self, request, client_address):
            pass
    server = Server(("127.0.0.1", 0), Handler)
    if config["cert"]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(config["cert"], config["key"])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """

  init(
    directory: String, failFirst: Int, status: Int = 200, hang: Bool = false, tls: TestCertificate? = nil,
    location: String? = nil, body: Body = .small
  ) throws {
    let name = UUID().uuidString
    let scriptPath = "\(directory)/server-\(name).py"
    attemptsPath = "\(directory)/attempts-\(name)"
    receivedPath = "\(directory)/received-\(name)"
    try Data(Self.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
    let config: JSONValue = [
      "failFirst": .int(Int64(failFirst)), "status": .int(Int64(status)), "hang": .bool(hang),
      "attempts": .string(attemptsPath), "received": .string(receivedPath),
      "cert": tls.map { .string($0.certificatePath) } ?? .null, "key": tls.map { .string($0.keyPath) } ?? .null,
      "location": location.map { .string($0) } ?? .null, "body": .string(body.rawValue),
    ]
    process = try SpawnedProcess(["/usr/bin/env", "python3", scriptPath, String(decoding: JSONWriter.encode(config), as: UTF8.self)])
    let line = process.readLine() ?? ""
    guard let port = Int(line) else {
      throw SpawnedProcess.SpawnError(errno: EIO)
    }
    url = "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)/feedback"
  }

  func attempts() -> [Int] { numbers(attemptsPath) }

  /// Per answered request, how many body bytes the server got to write.
  func bodyBytesWritten() -> [Int] { numbers(receivedPath + ".written") }

  private func numbers(_ path: String) -> [Int] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { Int($0) }
  }

  /// Whether a request reached the server and is being held.
  func hung() -> Bool { access(receivedPath + ".hung", F_OK) == 0 }

  func received() -> [JSONValue] {
    let text = (try? String(contentsOfFile: receivedPath, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
  }

  func stop() {
    process.closeInput()
    process.signal(SIGKILL)
    process.wait()
  }
}
