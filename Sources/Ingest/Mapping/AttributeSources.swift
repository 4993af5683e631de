import OTLP

/// Where request context comes from, first present wins (docs/architecture.md, "Where OTLP fields go").
enum AttributeSources {
    static let endpoint = ["http.route", "url.path", "http.target"]
    static let method = ["http.request.method", "http.method"]
    static let session = ["session.id", "session_id"]
    static let user = ["user.email", "enduser.id", "user_email"]
    static let department = ["department", "enterprise.department"]
    static let serviceName = "service.name"
    static let unknownService = "unknown_service"

    /// The first of `keys` present in `attributes` with a scalar value, and which key it was.
    static func first(_ keys: [String], in attributes: [KeyValue]) -> (key: String, value: String)? {
        for key in keys {
            if let text = attributes[key: key]?.scalarText { return (key, text) }
        }
        return nil
    }

    /// `service.name` of a resource, else (absent or empty) `unknown_service`.
    static func serviceName(of resource: Resource) -> String {
        guard let name = resource.attributes[key: serviceName]?.scalarText, !name.isEmpty else { return unknownService }
        return name
    }

    /// `http`, `websocket`, `grpc`, `messaging` or `internal`, from a span's attributes.
    static func entryPoint(of attributes: [KeyValue]) -> String {
        if attributes[key: "network.protocol.name"]?.scalarText?.lowercased() == "websocket" { return "websocket" }
        if first(method, in: attributes) != nil { return "http" }
        if attributes[key: "rpc.system"] != nil { return "grpc" }
        if attributes[key: "messaging.system"] != nil { return "messaging" }
        return "internal"
    }
}
