import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// `GET /api/observability/logs/stream` (docs/api.md): a WebSocket on which every log record
/// committed after the client connected, and accepted by its filter (`LogStreamFilter`), arrives
/// as one text message: a JSON object with the columns of `GET /logs`. Other messages are
/// notices, `{"notice": "..."}` (records dropped for a slow client, a database reconnection).
///
/// The upgrade is refused, before it happens, like any API request: 401 without a valid API key
/// (when keys are configured; browsers offer it as the subprotocol `sightline.key.<base64url>`,
/// see `APIKeys.webSocketKey`), 421 for a foreign `Host`, 403 for a foreign `Origin` (a page
/// on another site cannot read the stream), 400 naming a bad parameter, 503 when `LogFeed` has its maximum
/// of clients; a plain GET gets 426.
public struct LogStreamEndpoint: Sendable {
    public static let path = "/api/observability/logs/stream"

    let feed: LogFeed
    let policy: APIAccessPolicy
    let logger: Logger

    /// Other WebSocket endpoints upgraded by this port's server (`WebSocketRoute`); the API
    /// router gives each its plain-HTTP route.
    public let otherRoutes: [WebSocketRoute]

    /// How long a client may take in nothing while messages wait for it before it is cut off.
    let stallLimit: Duration

    public init(feed: LogFeed, policy: APIAccessPolicy, logger: Logger, otherRoutes: [WebSocketRoute] = [],
                stallLimit: Duration = LogStreamEndpoint.defaultStallLimit) {
        self.stallLimit = stallLimit
        self.feed = feed
        self.policy = policy
        self.logger = logger
        self.otherRoutes = otherRoutes
    }

    /// The plain-HTTP side, on the API router's `/api/observability` group: requests that were
    /// not upgraded get their refusal here (the router's API key middleware answers 401).
    public func addRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("/logs/stream") { request, _ -> Response in
            switch admission(request) {
            case .failure(let failure):
                return failure.response
            case .success:
                var response = QueryFailure(.upgradeRequired, "connect with a WebSocket (Upgrade: websocket)").response
                response.headers[.upgrade] = "websocket"
                return response
            }
        }
    }

    /// The API port's server: HTTP/1.1 whose requests to this endpoint may upgrade to a WebSocket.
    public func httpServer() -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            LogStreamUpgradeChannel(
                upgrading: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init()) { head, channel, _ in
                    await shouldUpgrade(head, channel: channel)
                },
                admits: { head in admitsUpgrade(head) })
        }
    }

    /// Whether a request to the endpoint may be upgraded: the access policy (Host, Origin,
    /// API key), its parameters, room for one more client.
    func admission(_ request: Request) -> Result<LogStreamFilter, QueryFailure> {
        if let refusal = policy.refusal(upgradeRequest(request, route: Self.path)) { return .failure(refusal.failure) }
        let filter: LogStreamFilter
        do {
            filter = try LogStreamFilter(Parameters(request))
        } catch {
            return .failure(error)
        }
        guard !feed.isFull else {
            return .failure(QueryFailure(.serviceUnavailable, "too many log stream clients (\(feed.configuration.maxSubscribers)); retry later"))
        }
        return .success(filter)
    }

    /// Before the upgrade handshake (`LogStreamUpgradeChannel`): upgrade requests that would be
    /// refused, or are for another path, go on as plain requests so the router answers them.
    private func admitsUpgrade(_ head: HTTPRequestHead) -> Bool {
        var fields = HTTPFields()
        var authority: String?
        for (name, value) in head.headers {
            // HTTP/1's Host is HTTPTypes' authority, as in the requests the router sees.
            if name.lowercased() == "host" { authority = authority ?? value; continue }
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        let request = Request(head: HTTPRequest(method: .get, scheme: nil, authority: authority, path: head.uri, headerFields: fields),
                              body: RequestBody(buffer: ByteBuffer()))
        if head.method == .GET, let route = otherRoutes.first(where: { $0.path == request.uri.path }) {
            return policy.refusal(upgradeRequest(request, route: route.path)) == nil && route.admit(request) == nil
        }
        guard head.method == .GET, request.uri.path == Self.path, case .success = admission(request) else { return false }
        return true
    }

    /// The upgrade itself: subscribes before the 101 answer, so every record committed after
    /// the client sees it arrives.
    private func shouldUpgrade(_ head: HTTPRequest, channel: any Channel)
        async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        if let route = otherRoutes.first(where: { $0.path == request.uri.path }) {
            guard policy.refusal(upgradeRequest(request, route: route.path)) == nil, route.admit(request) == nil,
                  let session = await route.open(request) else { return .dontUpgrade }
            return .upgrade(APIKeys.webSocketResponseHeaders(head.headerFields)) { inbound, outbound, _ in
                try await session(inbound, outbound, channel)
            }
        }
        guard request.uri.path == Self.path, case .success(let filter) = admission(request),
              let subscription = try? await feed.subscribe(filter) else {
            return .dontUpgrade
        }
        // A browser that sent its key as a subprotocol is answered with `sightline`, or it drops the connection.
        return .upgrade(APIKeys.webSocketResponseHeaders(head.headerFields)) { inbound, outbound, _ in
            try await Self.stream(subscription, inbound: inbound, outbound: outbound, channel: channel, stallLimit: stallLimit, logger: logger)
        }
    }

    /// How long a client may take in nothing while messages wait for it before it is cut off,
    /// unless the server says otherwise (`SightlineConfiguration.liveClientStallLimit`).
    public static let defaultStallLimit = Duration.seconds(30)
    /// How long a client has to answer the close frame sent at shutdown before it is cut off.
    static let shutdownGrace = Duration.seconds(5)

    /// Sends the subscription's messages until the client closes or the feed stops.
    ///
    /// A client whose socket takes nothing for `stallLimit`, or that does not close within
    /// `shutdownGrace` of a graceful shutdown, has its connection closed: a write to it would
    /// otherwise wait for ever, and so would the shutdown.
    static func stream(_ subscription: LogSubscription, inbound: WebSocketInboundStream,
                       outbound: WebSocketOutboundWriter, channel: any Channel, stallLimit: Duration = defaultStallLimit,
                       logger: Logger) async throws {
        defer { subscription.cancel() }
        let writing = PendingWrite()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Clients only listen: what they send is read and ignored, until they close.
                    for try await _ in inbound {}
                }
                group.addTask {
                    for await message in subscription.messages {
                        writing.start()
                        let dropped = subscription.takeDropped()
                        if dropped > 0 {
                            try await outbound.writeTextMessage(LogStreamNotice.json("dropped \(dropped) records"))
                        }
                        try await outbound.writeTextMessage(message)
                        writing.finish()
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        if writing.waited > stallLimit {
                            logger.info("log stream client cut off: it took nothing in for \(stallLimit)")
                            try? await channel.close()
                            return
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            Task {
                try? await Task.sleep(for: shutdownGrace)
                try? await channel.close()
            }
        }
    }
}

/// When the write in progress started, if one is.
private final class PendingWrite: Sendable {
    private let since = Mutex<ContinuousClock.Instant?>(nil)

    func start() { since.withLock { $0 = .now } }
    func finish() { since.withLock { $0 = nil } }
    var waited: Duration { since.withLock { $0.map { .now - $0 } } ?? .zero }
}

extension LogStreamEndpoint {
    /// A WebSocket upgrade as the access policy sees it. The upgrade is decided before routing,
    /// on the exact path of a WebSocket route (`route`), so that route is the one reached.
    func upgradeRequest(_ request: Request, route: String) -> APIAccessPolicy.Request {
        APIAccessPolicy.Request(method: request.method, route: route, authority: request.head.authority,
                                headers: request.headers, isWebSocketUpgrade: true)
    }
}
