import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Another WebSocket endpoint on the API port besides the log stream (Grafana's Loki tail):
/// the API port's one upgrade handler (`LogStreamEndpoint.httpServer()`) serves it too.
public struct WebSocketRoute: Sendable {
    /// What runs once the connection is upgraded, until the client or the server ends it.
    public typealias Session = @Sendable (WebSocketInboundStream, WebSocketOutboundWriter, any Channel) async throws -> Void

    public var path: String
    /// The refusal of a request (a bad parameter, a full feed), checked before the upgrade so
    /// the router can answer it with its real status; nil admits it.
    public var admit: @Sendable (Request) -> QueryFailure?
    /// Prepares the session (subscribes, reads what is sent first); nil refuses the upgrade.
    public var open: @Sendable (Request) async -> Session?
    /// The answer to a request that was not upgraded: a plain GET, or an upgrade that `admit`
    /// refused (which must get that refusal, e.g. 503 for a full feed, not "upgrade required").
    public var plain: @Sendable (Request) -> Response

    public init(path: String, admit: @escaping @Sendable (Request) -> QueryFailure?,
                open: @escaping @Sendable (Request) async -> Session?, plain: @escaping @Sendable (Request) -> Response) {
        self.path = path
        self.admit = admit
        self.open = open
        self.plain = plain
    }

    /// Whether a request is a WebSocket handshake: it has a `Sec-WebSocket-Key` (the
    /// hop-by-hop `Upgrade` and `Connection` fields do not reach the router).
    public static func asksForUpgrade(_ request: Request) -> Bool {
        request.headers[.secWebSocketKey] != nil
    }
}
