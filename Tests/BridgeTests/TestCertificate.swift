import TestSupport

/// A self-signed certificate (for 127.0.0.1 and localhost unless `names`
/// says otherwise), made by the
/// `openssl` CLI at test time (Debian's openssl, in every image this
/// project builds on), so no key is committed and no certificate library
/// joins the build. Tests trust it by naming it as their only root.
struct TestCertificate: Sendable {
  let certificatePath: String
  let keyPath: String

  struct Failed: Error, CustomStringConvertible {
    var description: String
  }

  init(directory: String, name: String = "receiver", names: String = "IP:127.0.0.1,DNS:localhost") throws {
    certificatePath = "\(directory)/\(name).cert.pem"
    keyPath = "\(directory)/\(name).key.pem"
    let openssl = try SpawnedProcess([
      "/usr/bin/env", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes", "-days", "2", "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(names)",
      "-keyout", keyPath, "-out", certificatePath,
    ])
    openssl.closeInput()
    let errors = SpawnedProcess.readToEnd(openssl.errors)
    guard openssl.wait() == 0 else { throw Failed(description: "openssl req failed: \(errors)") }
  }
}
