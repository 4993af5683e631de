import Foundation
import HTTPTypes

/// How a caller presents an API key: `Authorization: Bearer <key>`, `X-API-Key: <key>`, Basic
/// auth with the key as the password (Grafana's data sources), or, for browsers' WebSockets,
/// the subprotocol `sightline.key.<base64url>`. Keys are compared in constant time and never
/// logged. Which routes need one is `APIAccessPolicy`'s decision.
public enum APIKeys {
    /// Whether `headers` present one of `keys`.
    public static func admit(_ headers: HTTPFields, keys: [String]) -> Bool {
        guard let presented = presentedKey(headers) else { return false }
        return keys.contains { equal($0, presented) }
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let header = headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        if let key = headers[HTTPField.Name("X-API-Key")!] { return key.trimmingCharacters(in: .whitespaces) }
        // Grafana data sources with "Basic auth" on: any user name, the key as the password.
        if let header = headers[.authorization], header.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(header.dropFirst("basic ".count)).trimmingCharacters(in: .whitespaces)),
           let colon = decoded.firstIndex(of: UInt8(ascii: ":")) {
            return String(decoding: decoded[decoded.index(after: colon)...], as: UTF8.self)
        }
        return webSocketKey(headers)
    }

    /// The subprotocol a WebSocket client offers to show it sends its key as another one,
    /// `sightline.key.<the key in unpadded base64url>`: browsers cannot set headers on a
    /// WebSocket (the admin pages' log stream). The server answers with this one.
    public static var webSocketProtocol: String { "sightline" }
    static var webSocketKeyPrefix: String { "sightline.key." }

    /// The key offered as a WebSocket subprotocol, if any.
    static func webSocketKey(_ headers: HTTPFields) -> String? {
        for field in headers[values: .secWebSocketProtocol] {
            for offer in field.split(separator: ",") {
                let offer = offer.trimmingCharacters(in: .whitespaces)
                guard offer.hasPrefix(webSocketKeyPrefix) else { continue }
                var base64 = String(offer.dropFirst(webSocketKeyPrefix.count))
                    .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
                guard let data = Data(base64Encoded: base64) else { return nil }
                return String(decoding: data, as: UTF8.self)
            }
        }
        return nil
    }

    /// The answer to a WebSocket client that offered `webSocketProtocol`: that protocol.
    public static func webSocketResponseHeaders(_ request: HTTPFields) -> HTTPFields {
        let offered = request[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
            .contains { $0.trimmingCharacters(in: .whitespaces) == webSocketProtocol }
        return offered ? [.secWebSocketProtocol: webSocketProtocol] : [:]
    }

    /// Comparison whose time does not depend on where two keys differ.
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
