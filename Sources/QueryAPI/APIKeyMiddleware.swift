import Foundation
import HTTPTypes
import Hummingbird

/// Requires an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`) on every request
/// it guards, when keys are configured (DESIGN §9); 401 otherwise. Keys are compared in
/// constant time and never logged.
public struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [String]
    /// Paths under this prefix are guarded, routes or not (an unknown path is a 401 too,
    /// so the API's shape is not visible without a key).
    let prefix: String

    public init(keys: [String], guarding prefix: String) {
        self.keys = keys
        self.prefix = prefix
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, request.uri.path.hasPrefix(prefix) else { return try await next(request, context) }
        guard let presented = Self.presentedKey(request), keys.contains(where: { Self.equal($0, presented) }) else {
            return QueryFailure(.unauthorized, "missing or invalid API key (Authorization: Bearer <key> or X-API-Key)").response
        }
        return try await next(request, context)
    }

    static func presentedKey(_ request: Request) -> String? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        if let key = request.headers[HTTPField.Name("X-API-Key")!] { return key.trimmingCharacters(in: .whitespaces) }
        // Grafana data sources with "Basic auth" on: any user name, the key as the password.
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
           let decoded = Data(base64Encoded: String(header.dropFirst("basic ".count)).trimmingCharacters(in: .whitespaces)),
           let colon = decoded.firstIndex(of: UInt8(ascii: ":")) {
            return String(decoding: decoded[decoded.index(after: colon)...], as: UTF8.self)
        }
        return webSocketKey(request.headers)
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
