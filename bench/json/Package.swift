// swift-tools-version:6.1
// JSONParser/JSONWriter next to what Foundation offers, measured in the same
// process. A package of its own: it compiles the project's JSONRPC and
// Support modules through symlinks (JSONRPC imports Support), so the bench
// adds nothing to agent-bridge's build. Run: bench/json/run.

import PackageDescription

let package = Package(
  name: "agent-bridge-json-bench",
  platforms: [.macOS(.v15)],
  targets: [
    .target(name: "Support", swiftSettings: [.swiftLanguageMode(.v6)]),
    .target(name: "JSONRPC", dependencies: ["Support"], swiftSettings: [.swiftLanguageMode(.v6)]),
    .executableTarget(
      name: "json-bench",
      dependencies: ["JSONRPC"],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
  ]
)
