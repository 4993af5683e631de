import Foundation
import Hummingbird
import OTLP
import Store

// GET /errors and /errors/{group}/occurrences (docs/api.md): errors from logs and from failed
// spans, grouped by exception type + normalised message + service, read from the per-minute
// rollups the writer keeps (`ErrorQueries`).

extension ObservabilityAPI {
    /// The most steps a group's series has.
    static let maxErrorSteps = 1_440

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
        var series: [Int64]
    }

    /// The steps of a window's series: `step` seconds (a whole number of minutes; by default
    /// the window in about 60 steps) and how many of them cover the window.
    func errorSteps(_ parameters: Parameters, hours: Int) throws(QueryFailure) -> (seconds: Int, count: Int) {
        let fallback = max(60, (hours * 3600 / 60 + 59) / 60 * 60)
        let step = try parameters.int("step", default: fallback, in: 60...86_400)
        guard step % 60 == 0 else { throw .badParameter("step", "must be a whole number of minutes (a multiple of 60)") }
        let count = (hours * 3600 + step - 1) / step
        guard count <= Self.maxErrorSteps else { throw .badParameter("step", "at most \(Self.maxErrorSteps) steps per window") }
        return (step, count)
    }

    /// Every error group in the window, largest first; each source's tallies of one group
    /// added together.
    func errorGroups(since: Int64, step: Int, steps: Int) async throws(QueryFailure) -> [ErrorGroup] {
        let tallies = try await run { () async throws(StoreError) in
            try await errors.errorGroups(since: since, step: Int64(step) * 1_000_000_000, steps: steps)
        }
        var groups: [String: ErrorGroup] = [:]
        for tally in tallies {
            var group = groups[tally.groupID] ?? ErrorGroup(
                id: tally.groupID, type: tally.key.type, message: tally.key.message, service: tally.key.service,
                sampleMessage: tally.sampleMessage, series: Array(repeating: 0, count: steps))
            group.count += tally.count
            if tally.source == .logs { group.logCount += tally.count } else { group.spanCount += tally.count }
            if group.firstSeen.isEmpty || (!tally.firstSeen.isEmpty && tally.firstSeen < group.firstSeen) { group.firstSeen = tally.firstSeen }
            if tally.lastSeen > group.lastSeen {
                group.lastSeen = tally.lastSeen
                group.sampleMessage = tally.sampleMessage
                if let trace = tally.sampleTraceID { group.sampleTraceID = trace }
            }
            if group.sampleTraceID == nil { group.sampleTraceID = tally.sampleTraceID }
            for (index, count) in tally.series.enumerated() where index < steps { group.series[index] += count }
            groups[tally.groupID] = group
        }
        return groups.values.sorted { ($0.count, $0.lastSeen, $0.id) > ($1.count, $1.lastSeen, $1.id) }
    }

    /// `GET /errors?hours=&service=&limit=&step=`
    func listErrors(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let service = try parameters.text("service")
        let limit = try parameters.int("limit", default: 100, in: 1...1000)
        let steps = try errorSteps(parameters, hours: window.hours)
        var groups = try await errorGroups(since: window.sinceUnixNano, step: steps.seconds, steps: steps.count)
        if let service { groups = groups.filter { $0.service == service } }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("total_groups"); body.int(Int64(groups.count))
            body.key("total_errors"); body.int(groups.reduce(0) { $0 + $1.count })
            // Kept for clients of the raw-row grouping, which stopped at 5,000 combinations.
            body.key("truncated"); body.bool(false)
            body.key("start"); body.string(Timestamp.iso8601(unixNano: window.sinceUnixNano))
            body.key("step_seconds"); body.int(Int64(steps.seconds))
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
                body.key("series")
                body.beginArray()
                for count in group.series { body.int(count) }
                body.endArray()
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
        guard let group = try await errorGroups(since: window.sinceUnixNano, step: window.hours * 3600, steps: 1)
            .first(where: { $0.id == groupID }) else {
            throw .notFound("error group \(groupID)")
        }
        let key = ErrorKey(type: group.type, message: group.message, service: group.service)
        var occurrences: [Occurrence] = []
        if group.logCount > 0 {
            occurrences += try await run { () async throws(StoreError) in
                try await errors.logErrors(inGroup: key, since: window.sinceUnixNano, limit: limit)
            }.map { Occurrence.log($0) }
        }
        if group.spanCount > 0 {
            occurrences += try await run { () async throws(StoreError) in
                try await errors.spanErrors(inGroup: key, since: window.sinceUnixNano, limit: limit)
            }.map { Occurrence.span($0) }
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
