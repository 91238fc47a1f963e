// swift-tools-version:6.1
// JSONParser/JSONWriter and SHA256 next to what Foundation offers, measured
// in the same process. A package of its own: it compiles the project's
// JSONRPC sources and SHA256.swift through symlinks, so the bench adds
// nothing to agent-bridge's build. Run: bench/json/run.

import PackageDescription

let package = Package(
  name: "agent-bridge-json-bench",
  platforms: [.macOS(.v15)],
  targets: [
    .target(name: "JSONRPC", swiftSettings: [.swiftLanguageMode(.v6)]),
    .target(name: "SHA", swiftSettings: [.swiftLanguageMode(.v6)]),
    .executableTarget(name: "json-bench", dependencies: ["JSONRPC", "SHA"], swiftSettings: [.swiftLanguageMode(.v6)]),
  ]
)
