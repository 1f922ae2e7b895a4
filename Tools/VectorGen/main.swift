import AnkerVectorKit

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Rewrites Schemas/vectors/entries.json from fixed seeds: `swift run anker-vectors [PATH]`.
@main
struct VectorGenerator {
  static func main() {
    let path = CommandLine.arguments.dropFirst().first ?? "Schemas/vectors/entries.json"
    let suite = VectorSuite()
    let text = suite.json.rendered() + "\n"
    guard let file = fopen(path, "w") else {
      print("anker-vectors: error: cannot write \(path)")
      exit(1)
    }
    fputs(text, file)
    fclose(file)
    print("wrote \(suite.valid.count) valid and \(suite.invalid.count) invalid vectors to \(path)")
  }
}
