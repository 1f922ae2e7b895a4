/// A tiny JSON writer with a fixed key order, so the vector file is byte-for-byte
/// reproducible.
package indirect enum JSON {
  case string(String)
  case int(UInt64)
  case bool(Bool)
  case null
  case array([JSON])
  case object([(String, JSON)])

  package func rendered(indent: Int = 0) -> String {
    let pad = String(repeating: "  ", count: indent)
    let inner = String(repeating: "  ", count: indent + 1)
    switch self {
    case .string(let value): return "\"" + Self.escape(value) + "\""
    case .int(let value): return String(value)
    case .bool(let value): return value ? "true" : "false"
    case .null: return "null"
    case .array(let items):
      if items.isEmpty { return "[]" }
      if items.allSatisfy({ if case .int = $0 { true } else { false } }) {
        return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]"
      }
      return "[\n" + items.map { inner + $0.rendered(indent: indent + 1) }.joined(separator: ",\n")
        + "\n" + pad + "]"
    case .object(let pairs):
      if pairs.isEmpty { return "{}" }
      return "{\n"
        + pairs.map { inner + "\"\(Self.escape($0.0))\": " + $0.1.rendered(indent: indent + 1) }
        .joined(separator: ",\n") + "\n" + pad + "}"
    }
  }

  private static func escape(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
