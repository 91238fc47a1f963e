// Each case runs the bridge's code and a library's way of doing the same
// job on the same bytes (Foundation for JSON, swift-crypto for SHA-256),
// alternating rounds, and prints the time per operation of each and their
// ratio (library / bridge; above 1 means the bridge is faster).
import Crypto
import Foundation
import JSONRPC
import Support

func nanos(_ body: () -> Void) -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  body()
  return Double(DispatchTime.now().uptimeNanoseconds - start)
}

/// Median nanoseconds per operation of each of `a` and `b` over `rounds`
/// alternating rounds of `iterations` operations.
func compare(_ iterations: Int, rounds: Int = 9, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
  var ta: [Double] = []
  var tb: [Double] = []
  for _ in 0..<rounds {
    ta.append(nanos { for _ in 0..<iterations { a() } } / Double(iterations))
    tb.append(nanos { for _ in 0..<iterations { b() } } / Double(iterations))
  }
  return (ta.sorted()[rounds / 2], tb.sorted()[rounds / 2])
}

/// Like `compare`, but the best round of each: hashing allocates little, so
/// the fastest round is the one least disturbed by other builders on the box.
func best(_ iterations: Int, rounds: Int = 7, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
  var ta = Double.infinity
  var tb = Double.infinity
  for _ in 0..<rounds {
    ta = min(ta, nanos { for _ in 0..<iterations { a() } } / Double(iterations))
    tb = min(tb, nanos { for _ in 0..<iterations { b() } } / Double(iterations))
  }
  return (ta, tb)
}

func report(_ name: String, _ bridge: String, _ other: String, _ times: (Double, Double)) {
  func show(_ ns: Double) -> String {
    ns >= 1_000_000 ? String(format: "%.2f ms", ns / 1e6) : ns >= 1000 ? String(format: "%.2f us", ns / 1e3)
      : String(format: "%.0f ns", ns)
  }
  print(
    name.padding(toLength: 44, withPad: " ", startingAt: 0), "\(bridge) \(show(times.0))".padding(toLength: 26, withPad: " ", startingAt: 0),
    "\(other) \(show(times.1))".padding(toLength: 34, withPad: " ", startingAt: 0),
    String(format: "ratio %.2f", times.1 / times.0))
}

/// Keeps results alive so the optimizer cannot drop the work.
nonisolated(unsafe) var sink = 0

struct Request: Codable {
  var jsonrpc: String
  var id: Int64
  var method: String
  struct Params: Codable { var path: String? }
  var params: Params?
}

let quick = CommandLine.arguments.contains("--quick")
let scale = quick ? 10 : 1

// 1. A tiny request, as every health or cancel is.
let tiny = Array(#"{"jsonrpc":"2.0","id":1,"method":"health","params":{}}"#.utf8)
let tinyData = Data(tiny)
report(
  "parse tiny request (\(tiny.count) B)", "JSONParser", "JSONSerialization",
  compare(200_000 / scale, { sink &+= (try! JSONParser.parse(tiny))["id"]?.intValue.map(Int.init) ?? 0 }) {
    sink &+= ((try! JSONSerialization.jsonObject(with: tinyData)) as! [String: Any]).count
  })
report(
  "parse tiny request (\(tiny.count) B)", "JSONParser", "JSONDecoder (struct)",
  compare(200_000 / scale, { sink &+= (try! JSONParser.parse(tiny))["id"]?.intValue.map(Int.init) ?? 0 }) {
    sink &+= Int((try! JSONDecoder().decode(Request.self, from: tinyData)).id)
  })

// 2. A tiny reply written.
let reply: JSONValue = ["jsonrpc": "2.0", "id": 1, "result": "OK"]
let replyObject: [String: Any] = ["jsonrpc": "2.0", "id": 1, "result": "OK"]
report(
  "write tiny reply", "JSONWriter", "JSONSerialization",
  compare(200_000 / scale, { sink &+= JSONWriter.encode(reply).count }) {
    sink &+= (try! JSONSerialization.data(withJSONObject: replyObject)).count
  })

// 3. A large listing: 20,000 names, as listFiles or gitChanges answers.
let names = (0..<20_000).map { "src/module-\($0 % 97)/file_\($0)_ünïcode.swift" }
let listing: JSONValue = ["jsonrpc": "2.0", "id": 7, "result": .array(names.map { .string($0) })]
let listingBytes = JSONWriter.encode(listing)
let listingData = Data(listingBytes)
let listingObject: [String: Any] = ["jsonrpc": "2.0", "id": 7, "result": names]
report(
  "parse 20,000-name reply (\(listingBytes.count / 1024) KiB)", "JSONParser", "JSONSerialization",
  compare(40 / scale + 1, { sink &+= (try! JSONParser.parse(listingBytes))["result"]?.arrayValue?.count ?? 0 }) {
    sink &+= ((try! JSONSerialization.jsonObject(with: listingData)) as! [String: Any]).count
  })
report(
  "write 20,000-name reply", "JSONWriter", "JSONSerialization",
  compare(40 / scale + 1, { sink &+= JSONWriter.encode(listing).count }) {
    sink &+= (try! JSONSerialization.data(withJSONObject: listingObject)).count
  })
report(
  "write 20,000-name reply", "JSONWriter", "JSONEncoder ([String])",
  compare(40 / scale + 1, { sink &+= JSONWriter.encode(listing).count }) {
    sink &+= (try! JSONEncoder().encode(names)).count
  })

// 4. SHA-256: ours (Support.SHA256) against swift-crypto's (BoringSSL on
// Linux) on a whole archive's worth of bytes, as ZipSinks hashes, and on the
// short strings Conversation (a real path) and FeedbackStore (a password)
// hash. sha256sum on the same 16 MiB is timed by bench/json/run.
let block = (0..<(16 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
precondition(
  Support.SHA256.hash(block) == Array(Crypto.SHA256.hash(data: block)),
  "the two SHA-256 implementations disagree")
func ourByte(_ bytes: [UInt8]) -> Int { Int(Support.SHA256.hash(bytes)[0]) }
func cryptoByte(_ bytes: [UInt8]) -> Int { Crypto.SHA256.hash(data: bytes).withUnsafeBytes { Int($0[0]) } }
let big = best(1, rounds: quick ? 3 : 7, { sink &+= ourByte(block) }) { sink &+= cryptoByte(block) }
report(
  "sha256 16 MiB (best of \(quick ? 3 : 7))",
  String(format: "SHA256 %.0f MiB/s", 16.0 / (big.0 / 1e9)), String(format: "swift-crypto %.0f MiB/s", 16.0 / (big.1 / 1e9)),
  big)
let path = Array("/home/agent/workspaces/project-0042/repo".utf8)
let password = Array("hunter2-correct-horse".utf8)
for (name, input) in [("sha256 \(path.count)-byte path", path), ("sha256 \(password.count)-byte password", password)] {
  report(
    "\(name) (best of 7)", "SHA256", "swift-crypto",
    best(200_000 / scale, { sink &+= ourByte(input) }) { sink &+= cryptoByte(input) })
}
try! Data(block).write(to: URL(fileURLWithPath: CommandLine.arguments.last!.hasSuffix(".bin") ? CommandLine.arguments.last! : "/dev/null"))
if sink == 42 { print("") }
