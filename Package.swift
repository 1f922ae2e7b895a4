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
    .target(name: "Anker", dependencies: ["AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto"]),

    // Tools a person runs (Tools/): the vector generator and the benchmarks.
    .target(
      name: "AnkerVectorKit", dependencies: ["AnkerLog", "AnkerCrypto"], path: "Tools/VectorKit"),
    .executableTarget(
      name: "anker-vectors", dependencies: ["AnkerVectorKit"], path: "Tools/VectorGen"),
    .executableTarget(
      name: "anker-bench",
      dependencies: ["Anker", "AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto", "CSQLite"],
      path: "Tools/Benchmarks"),
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
      name: "AnkerTests",
      dependencies: ["Anker", "AnkerStore", "AnkerModel", "AnkerLog", "AnkerCrypto"],
      exclude: ["Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
