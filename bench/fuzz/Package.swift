// swift-tools-version:6.1
// The libFuzzer harness for the JSON-RPC transport, kept out of the main
// package so that `swift build` there never needs the fuzzer runtime.
// Sources/JSONRPC and Sources/Support (which JSONRPC imports) are symlinks to
// the real modules: the harness fuzzes the code that ships, not a copy. Build it through bench/fuzz.sh.

import PackageDescription

let package = Package(
  name: "agent-bridge-fuzz",
  platforms: [.macOS(.v15)],
  targets: [
    .target(name: "Support", swiftSettings: [.swiftLanguageMode(.v6)]),
    .target(name: "JSONRPC", dependencies: ["Support"], swiftSettings: [.swiftLanguageMode(.v6)]),
    .executableTarget(
      name: "FuzzJSONRPC",
      dependencies: ["JSONRPC"],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
  ]
)
