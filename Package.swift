// swift-tools-version:6.1
// One section per target, in dependency order: the arrows point one way,
// CLI -> HTTPAdapter -> Bridge -> BridgeProtocol -> JSONRPC, and
// Bridge -> Workspace -> Git, all of them -> Support (CONTRIBUTING.md's
// layout table, which scripts/check-layout holds the imports to).

import PackageDescription

let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "agent-bridge",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "agent-bridge", targets: ["agent-bridge"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    // Feedback forwarding (http and https); its NIO is the one Hummingbird builds.
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    // SHA-256 (BoringSSL); already built for AsyncHTTPClient's certificates.
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
  ],
  targets: [
    // MARK: Native libraries (Debian: libgit2-dev, zlib1g-dev)

    .systemLibrary(
      name: "CLibGit2",
      pkgConfig: "libgit2",
      providers: [.apt(["libgit2-dev"])]
    ),
    .systemLibrary(
      name: "CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),

    // MARK: Support: the platform import, descriptors, threads, digests.

    .target(name: "Support", swiftSettings: strict),
    .testTarget(name: "SupportTests", dependencies: ["Support"], swiftSettings: strict),

    // MARK: JSONRPC: framing, messages, connection. No domain knowledge.

    .target(name: "JSONRPC", dependencies: ["Support"], swiftSettings: strict),
    .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "TestSupport"], swiftSettings: strict),

    // Test-only helpers: a wire client over real pipes and a process spawner.
    .target(name: "TestSupport", dependencies: ["JSONRPC"], path: "Tests/TestSupport", swiftSettings: strict),

    // MARK: BridgeProtocol: one type per method, the registry, error codes.

    .target(name: "BridgeProtocol", dependencies: ["JSONRPC"], swiftSettings: strict),
    .testTarget(name: "BridgeProtocolTests", dependencies: ["BridgeProtocol"], swiftSettings: strict),

    // MARK: Git: libgit2 repositories, changes, diffs, ignore rules.

    .target(name: "Git", dependencies: ["CLibGit2", "Support"], swiftSettings: strict),
    // Workspace too: gitDiff's working-tree side is read through its walk.
    .testTarget(name: "GitTests", dependencies: ["Git", "Workspace", "TestSupport"], swiftSettings: strict),

    // MARK: Workspace: sandboxed paths, listing, reading, zip writing.

    .target(
      name: "Workspace", dependencies: ["CZlib", "Git", "Support", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict),
    .testTarget(name: "WorkspaceTests", dependencies: ["Workspace", "Git", "Support", "TestSupport"], swiftSettings: strict),

    // MARK: Bridge: conversations, lifecycle, the dispatcher and its handlers.

    .target(
      name: "Bridge",
      dependencies: [
        "BridgeProtocol",
        "Git",
        "JSONRPC",
        "Support",
        "Workspace",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    .testTarget(name: "BridgeTests", dependencies: ["Bridge", "TestSupport"], swiftSettings: strict),

    // MARK: HTTPAdapter: Hummingbird routes onto the dispatcher.

    .target(
      name: "HTTPAdapter",
      dependencies: [
        "Bridge",
        "BridgeProtocol",
        "JSONRPC",
        "Support",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "HTTPAdapterTests",
      dependencies: [
        "HTTPAdapter", "Bridge", "BridgeProtocol", "JSONRPC", "TestSupport",
        // `.router`: serve's application answered in-process (TestRouter.swift).
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),

    // MARK: The CLI.

    .executableTarget(
      name: "agent-bridge",
      dependencies: [
        "Bridge",
        "HTTPAdapter",
        "Support",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // End-to-end tests: the built binary through real pipes and processes.
    .testTarget(
      name: "AgentBridgeTests",
      dependencies: ["JSONRPC", "BridgeProtocol", "TestSupport"],
      swiftSettings: strict
    ),
  ]
)
