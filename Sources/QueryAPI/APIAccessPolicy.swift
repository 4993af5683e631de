import HTTPTypes

/// Who may do what on the API port, decided per request once the router has matched it
/// (docs/security.md):
///
/// 1. The `Host` must name this server (421 otherwise), which stops DNS rebinding: a page on
///    `rebind.evil.example` that resolves to 127.0.0.1 still sends its own name.
/// 2. A state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) and a WebSocket upgrade from a
///    browser must come from this server's own origin (403 otherwise); a state-changing request
///    with a body must be `application/json` (415 otherwise), which a cross-site form cannot send.
/// 3. With API keys configured, every route but the open ones (probes, the admin pages' files)
///    needs a key (401). The route is the one the router matched, never a prefix of the raw path:
///    `//api/observability/traces` reaches the traces route and is checked as that route; a path
///    that matches no route needs a key too, so the API's shape is not visible without one.
///
/// A plain value: `APIAccessMiddleware` and the WebSocket upgrade ask it, tests call it directly.
public struct APIAccessPolicy: Sendable {
    /// Accepted API keys; empty: no key needed anywhere.
    public var keys: [String]
    /// Route patterns (as the router prints them, e.g. `/health`) served without a key.
    public var openRoutes: Set<String>
    /// Route patterns whose `POST` only reads (Loki's `/series`, which Grafana sends as a form):
    /// no media-type rule; the Origin rule still applies.
    public var readOnlyPostRoutes: Set<String>
    /// Host names the port answers to (lower case, no port, IPv6 without brackets); `nil`
    /// answers to any (a wildcard address with no `SIGHTLINE_ALLOWED_HOSTS`).
    public var allowedHosts: HostAllowList?

    public init(keys: [String], openRoutes: Set<String> = [], readOnlyPostRoutes: Set<String> = [], allowedHosts: HostAllowList? = nil) {
        self.keys = keys
        self.openRoutes = openRoutes
        self.readOnlyPostRoutes = readOnlyPostRoutes
        self.allowedHosts = allowedHosts
    }

    /// Why a request is refused.
    public enum Refusal: Error, Sendable, Equatable {
        case misdirected(host: String)
        case foreignOrigin(String)
        case unsupportedMediaType(String?)
        case unauthorized

        public var failure: QueryFailure {
            switch self {
            case .misdirected(let host):
                // The name is the caller's own; nothing of the server's is in the answer.
                QueryFailure(.misdirectedRequest, "Host: \"\(host.prefix(100))\" is not a name of this server (add it to SIGHTLINE_ALLOWED_HOSTS)")
            case .foreignOrigin:
                QueryFailure(.forbidden, "Origin: cross-site requests that change state are refused")
            case .unsupportedMediaType(let type):
                QueryFailure(.unsupportedMediaType, "Content-Type: expected application/json, got \(type.map { "\"\($0.prefix(100))\"" } ?? "none")")
            case .unauthorized:
                QueryFailure(.unauthorized, "missing or invalid API key (Authorization: Bearer <key> or X-API-Key)")
            }
        }
    }

    /// The request as the policy sees it.
    public struct Request: Sendable {
        public var method: HTTPRequest.Method
        /// The route the router matched (`context.endpointPath`), `nil` when none did.
        public var route: String?
        /// The `Host` header (HTTP/1) or `:authority` (HTTP/2).
        public var authority: String?
        public var headers: HTTPFields
        public var isWebSocketUpgrade: Bool

        public init(method: HTTPRequest.Method, route: String?, authority: String?, headers: HTTPFields, isWebSocketUpgrade: Bool = false) {
            self.method = method
            self.route = route
            self.authority = authority
            self.headers = headers
            self.isWebSocketUpgrade = isWebSocketUpgrade
        }
    }

    static let stateChanging: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    /// `nil` when the request may go on, else why not.
    public func refusal(_ request: Request) -> Refusal? {
        if let refusal = hostRefusal(request.authority) { return refusal }
        if Self.stateChanging.contains(request.method) || request.isWebSocketUpgrade {
            if let origin = request.headers[.origin], !isOwnOrigin(origin, authority: request.authority) {
                return .foreignOrigin(origin)
            }
        }
        if Self.stateChanging.contains(request.method), !(request.method == .post && request.route.map(readOnlyPostRoutes.contains) == true),
           let refusal = Self.mediaTypeRefusal(request.headers) {
            return refusal
        }
        if !keys.isEmpty, !(request.route.map(openRoutes.contains) ?? false), !APIKeys.admit(request.headers, keys: keys) {
            return .unauthorized
        }
        return nil
    }

    /// The Host check alone (the OTLP receiver's port applies only this one).
    public func hostRefusal(_ authority: String?) -> Refusal? {
        // HTTP/1.0 has no Host; browsers always send one.
        guard let allowedHosts, let authority else { return nil }
        guard let host = HostAllowList.host(ofAuthority: authority), allowedHosts.contains(host) else {
            return .misdirected(host: authority)
        }
        return nil
    }

    /// The `Origin` of a browser's request names this server: the same host and port as the
    /// `Host` it was sent to (so a proxy passing `Host` through works), or a host the operator
    /// listed in `SIGHTLINE_ALLOWED_HOSTS` (for a proxy that rewrites `Host`). `null` (sandboxed
    /// frames, files) never does. Only browsers are held to this: they send the page's origin,
    /// always `http(s)://…` or `null`, and a page cannot change it; other clients may send what
    /// they like (a WebSocket library's `ws://host`), and gain nothing by it.
    func isOwnOrigin(_ origin: String, authority: String?) -> Bool {
        let origin = origin.trimmingASCIIWhitespace.lowercased()
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound]
        guard scheme == "http" || scheme == "https" else { return true }
        let originAuthority = Self.withoutDefaultPort(String(origin[schemeEnd.upperBound...]), scheme: String(scheme))
        if let authority {
            let requested = authority.trimmingASCIIWhitespace.lowercased()
            if originAuthority == Self.withoutDefaultPort(requested, scheme: String(scheme)) { return true }
        }
        if let allowedHosts, allowedHosts.isConfigured, let host = HostAllowList.host(ofAuthority: originAuthority) {
            return allowedHosts.containsConfigured(host)
        }
        return false
    }

    static func withoutDefaultPort(_ authority: String, scheme: String) -> String {
        if scheme == "http", authority.hasSuffix(":80") { return String(authority.dropLast(3)) }
        if scheme == "https", authority.hasSuffix(":443") { return String(authority.dropLast(4)) }
        return authority
    }

    /// A state-changing request's body must be JSON; one without a body and without a type
    /// (an acknowledge with `?user_email=`, a DELETE) is fine: a browser labels every body it
    /// sends across sites, and the Origin check covers the rest.
    static func mediaTypeRefusal(_ headers: HTTPFields) -> Refusal? {
        guard let type = headers[.contentType] else {
            let length = headers[.contentLength].flatMap { Int($0.trimmingASCIIWhitespace) }
            let hasBody = (length ?? 0) > 0 || headers[.transferEncoding] != nil
            return hasBody ? .unsupportedMediaType(nil) : nil
        }
        let mediaType = type.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingASCIIWhitespace.lowercased() } ?? ""
        return mediaType == "application/json" ? nil : .unsupportedMediaType(type)
    }
}

/// The host names a port answers to: its bound address, the loopback names, and the
/// operator's `SIGHTLINE_ALLOWED_HOSTS` (exact names, or `*.example.com` for any subdomain).
public struct HostAllowList: Sendable, Equatable {
    /// Names accepted because of how the port is bound.
    public var implicit: Set<String>
    /// The operator's entries, lower case.
    public var configured: [String]

    public init(implicit: Set<String>, configured: [String]) {
        self.implicit = Set(implicit.map { Self.normalised($0) })
        self.configured = configured.map { Self.normalised($0) }.filter { !$0.isEmpty }
    }

    /// The names always accepted for a loopback client.
    public static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "::1"]

    /// The allow-list for a port bound to `bindHost`, or `nil` (any host) for a wildcard address
    /// when the operator listed no names: then the API keys, which a non-loopback address
    /// requires, are the boundary.
    public static func forBinding(_ bindHost: String, configured: [String]) -> HostAllowList? {
        let bind = normalised(bindHost)
        let wildcard = bind == "0.0.0.0" || bind == "::" || bind == "*" || bind.isEmpty
        if wildcard && configured.isEmpty { return nil }
        var implicit = loopbackNames
        if !wildcard { implicit.insert(bind) }
        return HostAllowList(implicit: implicit, configured: configured)
    }

    var isConfigured: Bool { !configured.isEmpty }

    public func contains(_ host: String) -> Bool {
        let host = Self.normalised(host)
        return implicit.contains(host) || containsConfigured(host)
    }

    func containsConfigured(_ host: String) -> Bool {
        let host = Self.normalised(host)
        return configured.contains { entry in
            if entry.hasPrefix("*.") { return host.hasSuffix(entry.dropFirst()) && host.count > entry.count - 1 }
            return entry == host
        }
    }

    /// Lower case, brackets and a trailing dot removed.
    static func normalised(_ name: String) -> String {
        var name = name.trimmingASCIIWhitespace.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// The host of `host[:port]`, `[v6]:port` or a bare IPv6 address; `nil` when malformed.
    public static func host(ofAuthority authority: String) -> String? {
        let text = authority.trimmingASCIIWhitespace
        guard !text.isEmpty, !text.contains("@"), !text.contains("/") else { return nil }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return normalised(String(text[...close]))
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard text[text.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
            return normalised(String(text[..<colon]))
        }
        return normalised(text)
    }
}

extension String {
    var trimmingASCIIWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
