// swift-tools-version:6.1
// Benchmarks for the file methods. A package of its own so that nothing
// here (ZIPFoundation in particular) becomes a dependency of agent-bridge.
// Run: python3 bench/run.py (it builds this and the main package in release).

import PackageDescription

let package = Package(
  name: "agent-bridge-bench",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20")
  ],
  targets: [
    // Zips a directory with ZIPFoundation (deflate), for comparison with
    // agent-bridge's own writer.
    .executableTarget(
      name: "zipfoundation-zip",
      dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]
    )
  ]
)
