// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Anker",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "AnkerCrypto", targets: ["AnkerCrypto"]),
    .library(name: "AnkerLog", targets: ["AnkerLog"]),
    .library(name: "AnkerModel", targets: ["AnkerModel"]),
    .library(name: "AnkerStore", targets: ["AnkerStore"]),
    .library(name: "Anker", targets: ["Anker"]),
    .library(name: "AnkerSync", targets: ["AnkerSync"]),
    .executable(name: "anker", targets: ["anker"]),
    .executable(name: "anker-relay", targets: ["anker-relay"]),
    .executable(name: "anker-restore", targets: ["anker-restore"]),
  ],
  dependencies: [
    .package(
      url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: []),
    .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
  ],
  targets: [
    // System library: imported by AnkerCrypto only.
    .systemLibrary(
      name: "CSodium",
      pkgConfig: "libsodium",
      providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
    ),
    // System library: imported by AnkerStore only (and later the relay's SQLite storage).
    .systemLibrary(
      name: "CSQLite",
      pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
    ),
    .target(name: "AnkerCrypto", dependencies: ["CSodium"]),
    .target(name: "AnkerLog", dependencies: ["AnkerCrypto"]),
    .target(name: "AnkerModel", dependencies: ["AnkerLog", "AnkerCrypto"]),
    .target(name: "AnkerStore", dependencies: ["AnkerLog", "AnkerCrypto", "CSQLite"]),
    .target(name: "AnkerSync", dependencies: ["AnkerLog", "AnkerCrypto"]),
    // Reading what people type: passphrases, the paper key, invite codes (the CLIs share it).
    .target(name: "AnkerTerminal", dependencies: ["AnkerCrypto"]),
    .target(
      name: "Anker",
      dependencies: ["AnkerStore", "AnkerSync", "AnkerModel", "AnkerLog", "AnkerCrypto"]),
    // The relay: storage and HTTP service (ciphertext only). It reuses the store's SQLite
    // wrapper and nothing else of it.
    .target(
      name: "AnkerRelay",
      dependencies: [
        "AnkerLog", "AnkerCrypto", "AnkerSync", "AnkerStore", "CSQLite",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
      ]),
    .executableTarget(
      name: "anker-relay",
      dependencies: [
        "AnkerRelay", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    // Restore from a relay backup or a relay with the paper key: checks and a plaintext export.
    .target(
      name: "AnkerRestore",
      dependencies: [
        "Anker", "AnkerStore", "AnkerSync", "AnkerModel", "AnkerLog", "AnkerCrypto",
        "AnkerTerminal",
      ]),
    .executableTarget(
      name: "anker-restore",
      dependencies: [
        "AnkerRestore", "AnkerCrypto", "AnkerTerminal",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    // Tools a person runs (Tools/): the vector generator and the benchmarks.
    .target(
      name: "AnkerVectorKit", dependencies: ["AnkerLog", "AnkerCrypto"], path: "Tools/VectorKit"),
    // The command-line client for workers and coordinators.
    .executableTarget(
      name: "anker",
      dependencies: [
        "Anker", "AnkerSync", "AnkerModel", "AnkerStore", "AnkerLog", "AnkerCrypto",
        "AnkerTerminal", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "anker-vectors", dependencies: ["AnkerVectorKit"], path: "Tools/VectorGen"),
    .executableTarget(
      name: "anker-bench",
      dependencies: [
        "Anker", "AnkerStore", "AnkerSync", "AnkerModel", "AnkerLog", "AnkerCrypto", "CSQLite",
      ],
      path: "Tools/Benchmarks"),
    // The main job's worker flow (Tools/run).
    .executableTarget(
      name: "anker-demo", dependencies: ["Anker", "AnkerSync", "AnkerModel", "AnkerCrypto"],
      path: "Tools/Demo"),
    // The child process of the crash-safety and plaintext-at-rest tests.
    .executableTarget(
      name: "anker-test-child", dependencies: ["Anker", "AnkerModel", "AnkerCrypto"],
      path: "Tools/TestChild"),

    .testTarget(name: "AnkerCryptoTests", dependencies: ["AnkerCrypto"]),
    .testTarget(name: "AnkerModelTests", dependencies: ["AnkerModel", "AnkerLog", "AnkerCrypto"]),
    .testTarget(
      name: "AnkerLogTests", dependencies: ["AnkerLog", "AnkerCrypto", "AnkerVectorKit"]),
    .testTarget(
      name: "AnkerStoreTests", dependencies: ["AnkerStore", "AnkerLog", "AnkerCrypto"]),
    .testTarget(
      name: "AnkerSyncTests",
      dependencies: ["Anker", "AnkerSync", "AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto"]),
    // End-to-end: the built `anker` and `anker-relay` binaries, run as a user would.
    .testTarget(name: "AnkerCLITests", dependencies: ["AnkerCrypto"], exclude: ["Golden"]),
    .testTarget(
      name: "AnkerTests",
      dependencies: ["Anker", "AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "AnkerRestoreTests",
      dependencies: [
        "AnkerRestore", "Anker", "AnkerSync", "AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto",
      ]),
  ],
  swiftLanguageModes: [.v6]
)
