// swift-tools-version:6.1
// JSONParser/JSONWriter and SHA256 next to what Foundation, swift-crypto and
// coreutils offer, measured in the same process. A package of its own: it
// compiles the project's JSONRPC and Support modules through symlinks (JSONRPC
// imports Support, which holds SHA256), so the bench and swift-crypto add
// nothing to agent-bridge's build. Run: bench/json/run.

import PackageDescription

let package = Package(
  name: "agent-bridge-json-bench",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
  ],
  targets: [
    .target(name: "Support", swiftSettings: [.swiftLanguageMode(.v6)]),
    .target(name: "JSONRPC", dependencies: ["Support"], swiftSettings: [.swiftLanguageMode(.v6)]),
    .executableTarget(
      name: "json-bench",
      dependencies: ["JSONRPC", "Support", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
  ]
)
