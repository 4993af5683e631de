import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import OTLP
import QueryAPI
import Store
import Synchronization

/// `GET /loki/api/v1/tail?query=&start=&limit=` over WebSocket (Grafana's *Live* mode): the
/// lines of `start` (default: the hour before) up to now, at most `limit` (default 100), then
/// every new line `query` selects, each message in Loki's tail shape
/// `{"streams": [{"stream": {labels}, "values": [["<ns>", "<line>"]]}], "dropped_entries": [...]}`.
///
/// New lines come from the live log feed (`LogFeed`, the one behind `/api/observability/logs/stream`),
/// with its bounds: at most 100 clients, 1,000 messages waiting per client (the oldest dropped
/// and reported in `dropped_entries`), a client that takes nothing for 30 s cut off. The selector
/// and line filters are applied here, in Swift (regular expressions with NSRegularExpression, as
/// on SQLite); resource-attribute labels are not known for live lines, so they match as absent.
/// A line committed while the connection opens may arrive twice.
public struct LokiTail: Sendable {
    public static let path = "/loki/api/v1/tail"
    static let stallLimit = Duration.seconds(30)

    let api: LokiAPI
    let feed: LogFeed
    let logger: Logger

    public init(store: any TelemetryStore, feed: LogFeed, logger: Logger) {
        self.api = LokiAPI(store: store, logger: logger)
        self.feed = feed
        self.logger = logger
    }

    struct TailQuery {
        var selector: LogSelector
        var start: Int64
        var limit: Int
    }

    static func parse(_ request: Request) throws(GrafanaFailure) -> TailQuery {
        let form = FormParameters(request)
        guard let text = try form.text("query") else { throw .badParameter("query", "required") }
        let selector = try LokiAPI.parseSelector(text, name: "query", runsStages: true)
        let start = try form.time("start") ?? (Clock.nowNanos - LokiAPI.defaultRange)
        let limit = try form.int("limit", default: LokiAPI.defaultLines, in: 1...LokiAPI.maxLines)
        _ = try form.int("delay_for", default: 0, in: 0...5)
        return TailQuery(selector: selector, start: start, limit: limit)
    }

    /// The route for `LogStreamEndpoint`'s upgrade handling.
    public var route: WebSocketRoute {
        WebSocketRoute(path: Self.path, admit: { request in
            admission(request).map { QueryFailure($0.status, $0.message) }
        }, open: { request in
            await open(request)
        }, plain: { request in
            refusal(request)
        })
    }

    /// Why an upgrade is refused: a bad query (400), or the feed has its most clients (503).
    func admission(_ request: Request) -> GrafanaFailure? {
        do throws(GrafanaFailure) {
            _ = try Self.parse(request)
        } catch {
            return error
        }
        guard feed.subscriberCount < feed.configuration.maxSubscribers else {
            return GrafanaFailure(.serviceUnavailable, "too many live clients (\(feed.configuration.maxSubscribers)); retry later")
        }
        return nil
    }

    /// The plain-HTTP side, in Loki's error shape: an upgrade that was refused gets its reason
    /// (400, or 503 with `Retry-After` while the feed is full); a plain request 400 for a bad
    /// query, else 426.
    func refusal(_ request: Request) -> Response {
        if WebSocketRoute.asksForUpgrade(request), let failure = admission(request) { return failure.lokiResponse }
        do throws(GrafanaFailure) {
            _ = try Self.parse(request)
        } catch {
            return error.lokiResponse
        }
        var response = GrafanaFailure(.upgradeRequired, "connect with a WebSocket (Upgrade: websocket)").lokiResponse
        response.headers[.upgrade] = "websocket"
        return response
    }

    func open(_ request: Request) async -> WebSocketRoute.Session? {
        guard let query = try? Self.parse(request) else { return nil }
        // Subscribe first, then read the past, so nothing falls between the two.
        var filter = LogStreamFilter()
        if let service = query.selector.matchers.first(where: { $0.name == "service_name" && $0.op == .equal }) {
            filter.service = service.value
        }
        guard let subscription = try? await feed.subscribe(filter) else { return nil }
        let past = (try? await api.lines(query.selector, from: query.start, toExclusive: Clock.nowNanos + 1,
                                          limit: query.limit, backward: false)) ?? []
        let logger = logger
        return { inbound, outbound, channel in
            defer { subscription.cancel() }
            let writing = WriteClock()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound {}
                }
                group.addTask {
                    if !past.isEmpty { try await outbound.writeTextMessage(Self.message(past, dropped: 0)) }
                    for await message in subscription.messages {
                        guard let line = Self.line(message, query.selector) else { continue }
                        writing.started()
                        try await outbound.writeTextMessage(Self.message([line], dropped: subscription.takeDropped()))
                        writing.finished()
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        if writing.waited > Self.stallLimit {
                            logger.info("loki tail client cut off: it took nothing in for \(Self.stallLimit)")
                            try? await channel.close()
                            return
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// A live record (the JSON object of `GET /api/observability/logs`) as a line, if `selector`
    /// selects it.
    static func line(_ json: String, _ selector: LogSelector) -> LokiLine? {
        guard let record = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let message = record["message"] as? String, let stored = record["level"] as? String else { return nil }
        var labels: [String: String] = ["level": LokiLabels.levelName(stored)]
        if let service = record["service_name"] as? String, !service.isEmpty { labels["service_name"] = service }
        if let logger = record["logger_name"] as? String, !logger.isEmpty { labels["logger"] = logger }
        if let trace = record["trace_id"] as? String, !trace.isEmpty { labels["trace_id"] = trace }
        let span = record["span_id"] as? String
        func holds(_ matcher: LabelMatcher) -> Bool {
            switch matcher.name {
            case "level", "detected_level":
                if matcher.op == .equal || matcher.op == .notEqual, let wanted = LokiLabels.levelAliases[matcher.value.lowercased()] {
                    return (wanted == stored) == (matcher.op == .equal)
                }
                return matcher.matches(labels["level"] ?? "")
            case "span_id": return matcher.matches(span ?? "")
            default: return matcher.matches(labels[matcher.name] ?? "")
            }
        }
        func passes(_ filter: LineFilter) -> Bool { filter.matches(message, traceID: labels["trace_id"], spanID: span) }
        guard selector.allMatchers.allSatisfy(holds), selector.lineFilters.allSatisfy(passes),
              selector.alternatives.allSatisfy({ $0.labels.contains(where: holds) || $0.lines.contains(where: passes) }) else { return nil }
        let nanos = (record["timestamp"] as? String).flatMap(QueryTime.rfc3339) ?? Clock.nowNanos
        guard !selector.stages.isEmpty else { return LokiLine(nanos: nanos, text: message, labels: labels) }
        guard let entry = selector.stages.run(PipelineEntry(nanos: nanos, line: message, labels: labels), streamLabels: Set(labels.keys)) else { return nil }
        return LokiLine(nanos: entry.nanos, text: entry.line, labels: entry.labels)
    }

    static func message(_ lines: [LokiLine], dropped: Int) -> String {
        var body = JSONWriter(capacity: 512)
        body.beginObject()
        body.key("streams")
        body.beginArray()
        for line in lines {
            body.beginObject()
            body.key("stream"); LokiAPI.writeLabels(line.labels, &body)
            body.key("values")
            body.beginArray()
            body.beginArray(); body.string(String(line.nanos)); body.string(line.text); body.endArray()
            body.endArray()
            body.endObject()
        }
        body.endArray()
        body.key("dropped_entries")
        body.beginArray()
        // Loki names each dropped line; Sightline only knows how many were dropped.
        for _ in 0..<min(dropped, 100) {
            body.beginObject()
            body.key("labels"); body.beginObject(); body.endObject()
            body.key("timestamp"); body.string(String(Clock.nowNanos))
            body.endObject()
        }
        body.endArray()
        body.endObject()
        return body.text
    }
}

/// When the write in progress started, if one is.
private final class WriteClock: Sendable {
    private let since = Mutex<ContinuousClock.Instant?>(nil)

    func started() { since.withLock { $0 = .now } }
    func finished() { since.withLock { $0 = nil } }
    var waited: Duration { since.withLock { $0.map { .now - $0 } } ?? .zero }
}
