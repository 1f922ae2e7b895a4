import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP/1.1 client over one blocking keep-alive socket, for load generation only:
/// URLSession on Linux spends more CPU per request than the relay does, so with both on two
/// cores it, not the relay, would set the pace. Requests are built (and signed) before the
/// clock starts; this only writes them and reads the answers.
final class RawHTTPConnection {
  private let fd: Int32

  init(port: Int) {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket")
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let status = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    precondition(status == 0, "connect")
  }

  deinit { close(fd) }

  /// The bytes of a request with a body.
  static func request(
    method: String, path: String, headers: [(String, String)], body: [UInt8]
  ) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "Content-Type: application/octet-stream\r\nContent-Length: \(body.count)\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    head += "\r\n"
    return Array(head.utf8) + body
  }

  /// Sends one request and reads the whole answer: its status and body.
  func exchange(_ request: [UInt8]) -> (status: Int, body: [UInt8]) {
    var sent = 0
    while sent < request.count {
      let count = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, 0) }
      precondition(count > 0, "send")
      sent += count
    }
    var buffer = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    var headerEnd: Int?
    var length = 0
    while true {
      let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
      precondition(count > 0, "recv")
      buffer += chunk[0..<count]
      if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: buffer) {
        headerEnd = end + 4
        let head = String(decoding: buffer[0..<end], as: UTF8.self).lowercased()
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
          length =
            Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
      }
      if let end = headerEnd, buffer.count >= end + length {
        let statusLine = String(decoding: buffer[0..<min(12, buffer.count)], as: UTF8.self)
        let status = Int(statusLine.dropFirst(9).prefix(3)) ?? 0
        return (status, Array(buffer[end..<end + length]))
      }
    }
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for index in 0...(haystack.count - needle.count)
    where haystack[index] == needle[0] && Array(haystack[index..<index + needle.count]) == needle {
      return index
    }
    return nil
  }
}
