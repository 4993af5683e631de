import Foundation
import OTLP

/// Telemetry of a small shop, ingested through the receiver for the Grafana endpoint tests.
struct GrafanaDataset: Sendable {
    static let second: UInt64 = 1_000_000_000
    static let millisecond: UInt64 = 1_000_000

    /// A whole minute, so one-minute log buckets line up with the records.
    let now = (UInt64(Date.now.timeIntervalSince1970) / 60) * 60 * GrafanaDataset.second
    /// Root durations in ms of the five `shop` traces; the last one fails.
    let durations: [UInt64] = [10, 20, 30, 40, 1000]
    let routes = ["/cart", "/cart", "/cart", "/cart", "/pay"]

    func traceID(_ index: Int) -> TraceID { TraceID(high: 0x5151, low: UInt64(index + 1)) }
    func start(_ index: Int) -> UInt64 { now - 30 * 60 * Self.second + UInt64(index) * 60 * Self.second }

    var shopResource: Resource {
        Resource(attributes: [KeyValue(key: "service.name", value: .string("shop")),
                              KeyValue(key: "deployment.environment", value: .string("prod")),
                              KeyValue(key: "k8s.namespace.name", value: .string("shop-ns")),
                              KeyValue(key: "host.cpus", value: .int(8))])
    }

    /// Every span field used at least once: kinds, statuses, events, links, trace state, flags,
    /// typed attributes, scope version and attributes, schema URLs.
    var traces: ExportTraceServiceRequest {
        var spans: [Span] = []
        for index in durations.indices {
            let start = start(index)
            let failed = index == durations.count - 1
            let root = SpanID(UInt64(index * 10 + 1))
            spans.append(Span(
                traceId: traceID(index), spanId: root, traceState: index == 0 ? "vendor=a" : "", flags: 1,
                name: (failed ? "POST " : "GET ") + routes[index], kind: .server,
                startTimeUnixNano: start, endTimeUnixNano: start + durations[index] * Self.millisecond,
                attributes: [KeyValue(key: "http.route", value: .string(routes[index])),
                             KeyValue(key: "http.status_code", value: .int(failed ? 502 : 200)),
                             KeyValue(key: "cached", value: .bool(index == 1)),
                             KeyValue(key: "ratio", value: .double(0.25 * Double(index)))],
                status: failed ? SpanStatus(message: "upstream failed", code: .error) : SpanStatus(code: .ok)))
            spans.append(Span(
                traceId: traceID(index), spanId: SpanID(UInt64(index * 10 + 2)), parentSpanId: root, name: "SELECT orders",
                kind: .client, startTimeUnixNano: start + Self.millisecond, endTimeUnixNano: start + 3 * Self.millisecond,
                attributes: [KeyValue(key: "db.system", value: .string("postgresql"))],
                events: failed ? [SpanEvent(timeUnixNano: start + 2 * Self.millisecond, name: "exception",
                                            attributes: [KeyValue(key: "exception.type", value: .string("Timeout"))])] : [],
                links: index == 2 ? [SpanLink(traceId: traceID(0), spanId: SpanID(1), traceState: "x=y",
                                              attributes: [KeyValue(key: "link.kind", value: .string("retry"))])] : []))
        }
        return ExportTraceServiceRequest(resourceSpans: [ResourceSpans(
            resource: shopResource,
            scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: "shop.http", version: "1.2.0",
                                                                attributes: [KeyValue(key: "lib", value: .string("x"))]),
                                    spans: spans, schemaUrl: "https://opentelemetry.io/schemas/1.24.0")],
            schemaUrl: "https://opentelemetry.io/schemas/1.21.0")])
    }

    /// Log records, minutes before `now`, with their level (severity number).
    static let shopRecords: [(minutes: UInt64, severity: Int32, message: String)] = [
        (25, 9, "user logged in"), (25, 9, "cart updated"), (24, 9, "cart updated"), (20, 13, "disk almost full"),
        (15, 17, "payment failed: card 4242 declined"), (15, 17, "payment failed: card 1111 declined"), (10, 5, "cache warm"),
    ]

    var logs: ExportLogsServiceRequest {
        let shop = Self.shopRecords.map { record in
            LogRecord(timeUnixNano: now - record.minutes * 60 * Self.second - 5 * Self.second,
                      severityNumber: SeverityNumber(rawValue: record.severity), body: .string(record.message),
                      traceId: record.severity == 17 ? traceID(4) : nil, spanId: record.severity == 17 ? SpanID(41) : nil)
        }
        let auth = [LogRecord(timeUnixNano: now - 12 * 60 * Self.second, severityNumber: SeverityNumber(rawValue: 9),
                              body: .string("token refreshed"))]
        return ExportLogsServiceRequest(resourceLogs: [
            ResourceLogs(resource: shopResource, scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop.http"), logRecords: shop)]),
            ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("auth"))]),
                         scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "auth.tokens"), logRecords: auth)]),
        ])
    }

    var startSeconds: String { String((now - 3600 * Self.second) / Self.second) }
    var endSeconds: String { String(now / Self.second + 60) }
    var startNanos: String { String(now - 3600 * Self.second) }
    var endNanos: String { String(now + 60 * Self.second) }
}

extension ExportTraceServiceRequest {
    /// The same telemetry in a canonical order (resources, scopes and spans sorted), so two
    /// requests compare equal up to ordering.
    var normalized: ExportTraceServiceRequest {
        var copy = self
        for index in copy.resourceSpans.indices {
            for scope in copy.resourceSpans[index].scopeSpans.indices {
                copy.resourceSpans[index].scopeSpans[scope].spans.sort { $0.spanId.hex < $1.spanId.hex }
                for span in copy.resourceSpans[index].scopeSpans[scope].spans.indices {
                    // NaN never equals itself: compare it as text.
                    copy.resourceSpans[index].scopeSpans[scope].spans[span].attributes = copy.resourceSpans[index].scopeSpans[scope].spans[span].attributes.map {
                        if case .double(let value) = $0.value, value.isNaN { return KeyValue(key: $0.key, value: .string("NaN")) }
                        return $0
                    }
                }
            }
            copy.resourceSpans[index].scopeSpans.sort { "\($0.scope)\($0.schemaUrl)" < "\($1.scope)\($1.schemaUrl)" }
        }
        copy.resourceSpans.sort { "\($0.resource)\($0.schemaUrl)" < "\($1.resource)\($1.schemaUrl)" }
        return copy
    }

    /// Only the spans of one trace.
    func only(_ traceID: String) -> ExportTraceServiceRequest {
        var copy = self
        for index in copy.resourceSpans.indices {
            for scope in copy.resourceSpans[index].scopeSpans.indices {
                copy.resourceSpans[index].scopeSpans[scope].spans.removeAll { $0.traceId.hex != traceID }
            }
            copy.resourceSpans[index].scopeSpans.removeAll { $0.spans.isEmpty }
        }
        copy.resourceSpans.removeAll { $0.scopeSpans.isEmpty }
        return copy
    }
}
