import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 request written byte for byte over a loopback socket, for what a normal client
/// would correct: paths as given (`//api`, `/./`, `%2F`), any `Host`, any header. One request
/// per connection (`Connection: close` unless another is given); the answer is read until it
/// is complete (its length, its last chunk, a 101's head, or the close). Bounded in time.
public enum RawHTTP {
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// Sends `method path` to `127.0.0.1:port` with `headers` (a `Host` is added unless given).
    public static func send(port: Int, method: String = "GET", path: String, headers: [(String, String)] = [],
                     body: String? = nil, timeout: Duration = .seconds(20)) async throws -> Answer {
        var lines = ["\(method) \(path) HTTP/1.1"]
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { lines.append("Host: 127.0.0.1:\(port)") }
        lines += headers.map { "\($0.0): \($0.1)" }
        if let body { lines.append("Content-Length: \(body.utf8.count)") }
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) { lines.append("Connection: close") }
        let request = Array((lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")).utf8)
        let bytes = try await exchange(port: port, request: request, timeout: timeout)
        return try parse(bytes)
    }

    /// The blocking socket work runs on a thread of its own, not on the concurrency pool the
    /// server under test shares.
    private static func exchange(port: Int, request: [UInt8], timeout: Duration) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try blockingExchange(port: port, request: request, timeout: timeout) })
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private static func blockingExchange(port: Int, request: [UInt8], timeout: Duration) throws -> [UInt8] {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(socket) }
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect() failed") }
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write() failed") }
            sent += written
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, answer.count < 16 << 20 {
            let count = read(socket, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
            if isComplete(answer) { break }
        }
        return answer
    }

    private static func isComplete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<headEnd.lowerBound].lowercased()
        if head.hasPrefix("http/1.1 101") { return true }
        let body = text[headEnd.upperBound...]
        if head.contains("transfer-encoding: chunked") { return body.hasSuffix("0\r\n\r\n") }
        if let range = head.range(of: "content-length:") {
            let digits = head[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
            if let length = Int(digits) { return body.utf8.count >= length }
        }
        return false
    }

    private static func parse(_ bytes: [UInt8]) throws -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { throw Failure(description: "no complete answer: \(text.prefix(200))") }
        let head = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(head[0])") }
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = String(text[headEnd.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            body = dechunked(body)
        }
        return Answer(status: status, headers: headers, body: body)
    }

    private static func dechunked(_ text: String) -> String {
        var rest = Substring(text)
        var out = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let utf8 = rest[start...].utf8
            let end = utf8.index(utf8.startIndex, offsetBy: min(size, utf8.count))
            out += String(rest[start..<end])
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
