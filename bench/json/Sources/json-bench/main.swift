// Each case runs the bridge's code and a library's way of doing the same
// job on the same bytes (Foundation),
// alternating rounds, and prints the time per operation of each and their
// ratio (library / bridge; above 1 means the bridge is faster).
import Foundation
import JSONRPC

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

if sink == 42 { print("") }
