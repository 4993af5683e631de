import Foundation
import Store

/// The telemetry the query contract suites (`TraceQueriesContractTests`, …) read back: a few
/// traces and log records at known times after `t0` (a whole minute), and one of each before it.
enum QueryContractData {
    static let t0: Int64 = 1_800_000_000_000_000_000
    static let second: Int64 = 1_000_000_000
    static let millisecond: Int64 = 1_000_000

    static func traceID(_ last: String) -> String { String(repeating: "0", count: 32 - last.count) + last }

    // MARK: Traces

    /// One span and the trace row its batch gives.
    struct SpanSpec {
        var trace: String
        var span: String
        var parent: String?
        var name: String
        var service: String
        var start: Int64
        var durationMs: Int64
        var error: String?
        var user: String?
        var events = "[]"
    }

    /// `E` (shop, 45 s after `t0`, 2 ms), `A` (shop, 60 s, 10 ms; spans db and cache below the
    /// root), `B` (shop, 120 s, 1,000 ms, failed; its db span failed with an exception event),
    /// `C` (auth, 180 s, 5 ms), and `D` (auth, 10 minutes before `t0`, 7 ms).
    static let spans: [SpanSpec] = [
        SpanSpec(trace: traceID("e"), span: "00000000000000e1", name: "GET /health", service: "shop", start: t0 + 45 * second,
                 durationMs: 2),
        SpanSpec(trace: traceID("a"), span: "00000000000000a1", name: "GET /cart", service: "shop", start: t0 + 60 * second,
                 durationMs: 10, user: "alice@example.com"),
        SpanSpec(trace: traceID("a"), span: "00000000000000a2", parent: "00000000000000a1", name: "db", service: "shop",
                 start: t0 + 60 * second + millisecond, durationMs: 3),
        SpanSpec(trace: traceID("a"), span: "00000000000000a3", parent: "00000000000000a2", name: "cache", service: "shop",
                 start: t0 + 60 * second + 2 * millisecond, durationMs: 1),
        SpanSpec(trace: traceID("b"), span: "00000000000000b1", name: "POST /pay", service: "shop", start: t0 + 120 * second,
                 durationMs: 1000, error: "card declined", user: "alice@example.com"),
        SpanSpec(trace: traceID("b"), span: "00000000000000b2", parent: "00000000000000b1", name: "db", service: "shop",
                 start: t0 + 120 * second + millisecond, durationMs: 3, error: "query failed",
                 events: #"[{"timestamp":"2027-01-15T08:02:00.001000Z","name":"exception","attributes":{"exception.type":"ValueError","exception.message":"bad value 42"}}]"#),
        SpanSpec(trace: traceID("c"), span: "00000000000000c1", name: "login", service: "auth", start: t0 + 180 * second,
                 durationMs: 5, user: "bob@example.com"),
        SpanSpec(trace: traceID("d"), span: "00000000000000d1", name: "login", service: "auth", start: t0 - 600 * second,
                 durationMs: 7),
    ]

    static func spanRow(_ spec: SpanSpec) -> SpanRow {
        SpanRow(
            traceID: spec.trace, spanID: spec.span, parentSpanID: spec.parent, operationName: spec.name, serviceName: spec.service,
            startTimeUnixNano: spec.start, endTimeUnixNano: spec.start + spec.durationMs * millisecond,
            status: spec.error == nil ? "completed" : "error", errorMessage: spec.error,
            tags: #"{"span":"\#(spec.span)"}"#, logs: spec.events, kind: spec.parent == nil ? 2 : 3, traceState: "v=1",
            flags: 257, statusCode: spec.error == nil ? 0 : 2,
            attributes: #"[{"key":"span","value":{"stringValue":"\#(spec.span)"}}]"#, events: "[]", links: "[]",
            resource: #"{"attributes":[]}"#, scope: #"{"name":"test"}"#, droppedAttributesCount: 1, droppedEventsCount: 2,
            droppedLinksCount: 3)
    }

    static func traceRow(_ spec: SpanSpec) -> TraceRow {
        let method = spec.name.split(separator: " ").count == 2 ? String(spec.name.split(separator: " ")[0]) : nil
        return TraceRow(
            traceID: spec.trace, startTimeUnixNano: spec.start, endTimeUnixNano: spec.start + spec.durationMs * millisecond,
            status: spec.error == nil ? "completed" : "error", errorMessage: spec.error,
            context: TraceContext(
                fromRoot: spec.parent == nil, sourceStartUnixNano: spec.start, entryPoint: "http", endpoint: spec.name,
                method: method, sessionID: nil, userEmail: spec.user, department: nil, serviceName: spec.service,
                rootSpanName: spec.name, tags: #"{"route":"\#(spec.name)"}"#))
    }

    static var traceBatch: WriteBatch {
        WriteBatch(traces: spans.map(traceRow), spans: spans.map(spanRow))
    }

    // MARK: Logs

    struct LogSpec {
        var at: Int64
        var level: String
        var message: String
        var logger: String
        var service: String
        var trace: String? = nil
        var user: String? = nil
        var exception: (type: String, message: String)? = nil
    }

    /// Records 10 to 70 s after `t0` (L1 … L6, in this order) and one 10 minutes before it.
    static let logs: [LogSpec] = [
        LogSpec(at: t0 + 10 * second, level: "INFO", message: "user logged in", logger: "shop.http", service: "shop"),
        LogSpec(at: t0 + 20 * second, level: "INFO", message: "cart updated", logger: "shop.http", service: "shop",
                user: "alice@example.com"),
        LogSpec(at: t0 + 30 * second, level: "WARNING", message: "disk almost full", logger: "ops_disk%1", service: "ops"),
        LogSpec(at: t0 + 40 * second, level: "ERROR", message: "payment failed: card declined", logger: "shop.pay", service: "shop",
                trace: traceID("b"), exception: ("CardError", "declined 4242")),
        LogSpec(at: t0 + 50 * second, level: "ERROR", message: "payments failing for card 4242", logger: "shop.pay", service: "shop",
                trace: traceID("b"), exception: ("CardError", "declined 4242")),
        LogSpec(at: t0 + 70 * second, level: "DEBUG", message: "token refreshed", logger: "auth.tokens", service: "auth"),
        LogSpec(at: t0 - 600 * second, level: "INFO", message: "an old record about a card", logger: "shop.http", service: "shop"),
    ]

    static func logRow(_ spec: LogSpec) -> LogRow {
        LogRow(
            timestampUnixNano: spec.at, timeUnixNano: spec.at, observedTimeUnixNano: spec.at + millisecond, level: spec.level,
            loggerName: spec.logger, message: spec.message, traceID: spec.trace, spanID: spec.trace.map { _ in "00000000000000b1" },
            userEmail: spec.user, department: nil, sessionID: nil, endpoint: nil, extra: #"{"n":1}"#,
            exceptionType: spec.exception?.type, exceptionMessage: spec.exception?.message,
            exceptionTraceback: spec.exception.map { _ in "at pay()" }, severityNumber: spec.level == "ERROR" ? 17 : 9,
            severityText: spec.level, body: #"{"stringValue":"\#(spec.message)"}"#, attributes: "[]", resource: "{}",
            scope: #"{"name":"\#(spec.logger)"}"#, flags: 1, eventName: nil, droppedAttributesCount: 0, serviceName: spec.service)
    }

    static var logBatch: WriteBatch { WriteBatch(logs: logs.map(logRow)) }

    /// JSON text as a value, so that PostgreSQL's jsonb spelling compares equal to SQLite's text.
    static func json(_ text: JSONText?) -> NSObject? {
        text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.text.utf8)) as? NSObject }
    }

    static func json(_ text: String) -> NSObject? { json(JSONText(text)) }
}
