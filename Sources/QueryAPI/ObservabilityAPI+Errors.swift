import Foundation
import Hummingbird
import OTLP
import Store

// GET /errors and /errors/{group}/occurrences (docs/api.md): errors from logs and from failed
// spans, grouped by exception type + normalised message + service, computed from the stored
// telemetry rather than kept in tables of their own.

extension ObservabilityAPI {
    /// How many distinct raw (type, message, service) combinations are grouped per source;
    /// beyond it the rarest are left out (and `truncated` says so).
    static let maxRawGroups = 5_000

    struct ErrorGroup {
        var id: String
        var type: String
        var message: String
        var service: String
        var sampleMessage: String
        var count: Int64 = 0
        var logCount: Int64 = 0
        var spanCount: Int64 = 0
        var firstSeen = ""
        var lastSeen = ""
        var sampleTraceID: String?
        var rawKeys: [(key: ErrorKey, source: ErrorSource)] = []
    }

    /// Every error group in the window, largest first.
    func errorGroups(since: Int64) async throws(QueryFailure) -> (groups: [ErrorGroup], truncated: Bool) {
        var tallies: [(rows: [ErrorTally], source: ErrorSource)] = []
        for source in [ErrorSource.logs, .spans] {
            let rows = try await run { () async throws(StoreError) in
                try await errors.errorTallies(source, since: since, limit: Self.maxRawGroups)
            }
            tallies.append((rows, source))
        }
        var groups: [String: ErrorGroup] = [:]
        for (rows, source) in tallies {
            for tally in rows {
                let raw = tally.key
                let normalised = ErrorNormaliser.normalise(raw.message)
                let id = ErrorNormaliser.groupID(type: raw.type, message: normalised, service: raw.service)
                var group = groups[id] ?? ErrorGroup(id: id, type: raw.type, message: normalised, service: raw.service, sampleMessage: raw.message)
                group.count += tally.count
                if source == .logs { group.logCount += tally.count } else { group.spanCount += tally.count }
                let first = tally.firstSeen, last = tally.lastSeen
                if group.firstSeen.isEmpty || (!first.isEmpty && first < group.firstSeen) { group.firstSeen = first }
                if last > group.lastSeen {
                    group.lastSeen = last
                    group.sampleMessage = raw.message
                    if let trace = tally.traceID { group.sampleTraceID = trace }
                }
                if group.sampleTraceID == nil { group.sampleTraceID = tally.traceID }
                group.rawKeys.append((raw, source))
                groups[id] = group
            }
        }
        let sorted = groups.values.sorted { ($0.count, $0.lastSeen, $0.id) > ($1.count, $1.lastSeen, $1.id) }
        return (sorted, tallies.contains { $0.rows.count == Self.maxRawGroups })
    }

    /// `GET /errors?hours=&service=&limit=`
    func listErrors(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let service = try parameters.text("service")
        let limit = try parameters.int("limit", default: 100, in: 1...1000)
        var (groups, truncated) = try await errorGroups(since: window.sinceUnixNano)
        if let service { groups = groups.filter { $0.service == service } }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("total_groups"); body.int(Int64(groups.count))
            body.key("total_errors"); body.int(groups.reduce(0) { $0 + $1.count })
            body.key("truncated"); body.bool(truncated)
            body.key("groups")
            body.beginArray()
            for group in groups.prefix(limit) {
                body.beginObject()
                body.key("group_id"); body.string(group.id)
                body.key("error_type"); body.string(group.type)
                body.key("message"); body.string(group.message)
                body.key("sample_message"); body.string(group.sampleMessage)
                body.key("service_name"); body.string(group.service)
                body.key("count"); body.int(group.count)
                body.key("log_count"); body.int(group.logCount)
                body.key("span_count"); body.int(group.spanCount)
                body.key("first_seen"); body.string(group.firstSeen)
                body.key("last_seen"); body.string(group.lastSeen)
                body.key("sample_trace_id")
                if let trace = group.sampleTraceID { body.string(trace) } else { body.null() }
                body.endObject()
            }
            body.endArray()
        }
    }

    /// `GET /errors/{group}/occurrences?hours=&limit=`: the group's errors, newest first.
    func errorOccurrences(_ request: Request, group id: String) async throws(QueryFailure) -> Response {
        guard id.utf8.count == 16, id.utf8.allSatisfy(\.isHexDigit) else { throw .badParameter("group", "expected 16 hex digits") }
        let groupID = id.lowercased()
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let limit = try parameters.int("limit", default: 50, in: 1...500)
        guard let group = try await errorGroups(since: window.sinceUnixNano).groups.first(where: { $0.id == groupID }) else {
            throw .notFound("error group \(groupID)")
        }
        var occurrences: [Occurrence] = []
        // One query per raw combination in the group (a group holds few of them).
        for (key, source) in group.rawKeys.prefix(50) {
            switch source {
            case .logs:
                let rows = try await run { () async throws(StoreError) in
                    try await errors.logErrors(key, since: window.sinceUnixNano, limit: limit)
                }
                occurrences += rows.map { .log($0) }
            case .spans:
                let rows = try await run { () async throws(StoreError) in
                    try await errors.spanErrors(key, since: window.sinceUnixNano, limit: limit)
                }
                occurrences += rows.map { .span($0) }
            }
        }
        occurrences.sort { $0.timestamp > $1.timestamp }
        return .jsonObject { body in
            body.key("group_id"); body.string(group.id)
            body.key("error_type"); body.string(group.type)
            body.key("message"); body.string(group.message)
            body.key("service_name"); body.string(group.service)
            body.key("count"); body.int(group.count)
            body.key("occurrences")
            body.beginArray()
            for occurrence in occurrences.prefix(limit) {
                body.beginObject()
                switch occurrence {
                case .log(let log):
                    body.key("source"); body.string("log")
                    RecordJSON.write(log, into: &body)
                case .span(let span):
                    body.key("source"); body.string("span")
                    RecordJSON.write(span, into: &body)
                }
                body.endObject()
            }
            body.endArray()
        }
    }

    enum Occurrence {
        case log(LogErrorOccurrence)
        case span(SpanErrorOccurrence)

        var timestamp: String {
            switch self {
            case .log(let log): log.timestamp
            case .span(let span): span.timestamp
            }
        }
    }
}
