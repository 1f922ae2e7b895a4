// swift-tools-version: 6.1
import PackageDescription

let package = Package(
  name: "Anker",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "AnkerCrypto", targets: ["AnkerCrypto"]),
    .library(name: "AnkerLog", targets: ["AnkerLog"]),
    .library(name: "AnkerModel", targets: ["AnkerModel"]),
  ],
  targets: [
    // System library: imported by AnkerCrypto only.
    .systemLibrary(
      name: "CSodium",
      pkgConfig: "libsodium",
      providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
    ),
    .target(name: "AnkerCrypto", dependencies: ["CSodium"]),
    .target(name: "AnkerLog", dependencies: ["AnkerCrypto"]),
    .target(name: "AnkerModel", dependencies: ["AnkerLog", "AnkerCrypto"]),

    // Tools a person runs (Tools/): the vector generator and the benchmarks.
    .target(
      name: "AnkerVectorKit", dependencies: ["AnkerLog", "AnkerCrypto"], path: "Tools/VectorKit"),
    .executableTarget(
      name: "anker-vectors", dependencies: ["AnkerVectorKit"], path: "Tools/VectorGen"),
    .executableTarget(
      name: "anker-bench", dependencies: ["AnkerModel", "AnkerLog", "AnkerCrypto"],
      path: "Tools/Benchmarks"),

    .testTarget(name: "AnkerCryptoTests", dependencies: ["AnkerCrypto"]),
    .testTarget(name: "AnkerModelTests", dependencies: ["AnkerModel", "AnkerLog", "AnkerCrypto"]),
    .testTarget(
      name: "AnkerLogTests", dependencies: ["AnkerLog", "AnkerCrypto", "AnkerVectorKit"]),
  ],
  swiftLanguageModes: [.v6]
)
