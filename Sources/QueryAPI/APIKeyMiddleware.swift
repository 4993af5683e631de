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
        return nil
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
