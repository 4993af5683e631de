import Foundation
import Hummingbird
import OTLP
import Store

// GET /errors and /errors/{group}/occurrences: errors from logs and from failed spans, grouped
// by exception type + normalised message + service (seed 004's error aggregation, computed
// from the stored telemetry rather than kept in tables of its own).

/// One error as grouped: the raw fields before normalisation.
struct RawErrorKey: Hashable {
    var type: String
    var message: String
    var service: String
}

extension ObservabilityAPI {
    /// How many distinct raw (type, message, service) combinations are grouped per source;
    /// beyond it the rarest are left out (and `truncated` says so).
    static let maxRawGroups = 5_000

    /// Error log records: level ERROR or CRITICAL, or any record carrying an exception.
    static let errorLogFilter = "(level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL)"
    static func logType(_ dialect: SQLDialect) -> String { "COALESCE(exception_type, level)" }
    static let logMessage = "COALESCE(exception_message, message)"

    /// The exception type / message of a failed span: its `exception` event's attributes,
    /// else the status message.
    static func spanException(_ dialect: SQLDialect, _ attribute: String) -> String {
        switch dialect {
        case .postgres:
            return "(SELECT e->'attributes'->>'\(attribute)' FROM jsonb_array_elements(s.logs) e WHERE e->>'name' = 'exception' LIMIT 1)"
        case .sqlite:
            return """
                (SELECT json_extract(e.value, '$.attributes."\(attribute)"') FROM json_each(s.logs) e \
                WHERE json_extract(e.value, '$.name') = 'exception' LIMIT 1)
                """
        }
    }

    static func spanType(_ dialect: SQLDialect) -> String { "COALESCE(\(spanException(dialect, "exception.type")), 'SpanError')" }
    static func spanMessage(_ dialect: SQLDialect) -> String {
        "COALESCE(\(spanException(dialect, "exception.message")), s.error_message, s.operation_name)"
    }

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
        var rawKeys: [(key: RawErrorKey, fromLogs: Bool)] = []
    }

    /// Every error group in the window, largest first.
    func errorGroups(since: Int64) async throws(QueryFailure) -> (groups: [ErrorGroup], truncated: Bool) {
        let dialect = store.dialect
        var logs = SQLBuilder(dialect)
        let logSince = logs.bindTime(unixNano: since)
        let logRows = try await read(logs.query("""
            SELECT \(Self.logType(dialect)) AS type, \(Self.logMessage) AS message, COALESCE(service_name, '') AS service,
                   count(*) AS count, min(timestamp) AS first_seen, max(timestamp) AS last_seen, max(trace_id) AS trace_id
            FROM enterprise.structured_logs
            WHERE timestamp > \(logSince) AND \(Self.errorLogFilter)
            GROUP BY 1, 2, 3 ORDER BY count DESC LIMIT \(Self.maxRawGroups)
            """))
        var spans = SQLBuilder(dialect)
        let spanSince = spans.bindTime(unixNano: since)
        let spanRows = try await read(spans.query("""
            SELECT type, message, service, count(*) AS count, min(start_time) AS first_seen, max(start_time) AS last_seen,
                   max(trace_id) AS trace_id
            FROM (SELECT \(Self.spanType(dialect)) AS type, \(Self.spanMessage(dialect)) AS message,
                         COALESCE(s.service_name, '') AS service, s.start_time, s.trace_id
                  FROM enterprise.trace_spans s WHERE s.start_time > \(spanSince) AND s.status = 'error') failed
            GROUP BY type, message, service ORDER BY count DESC LIMIT \(Self.maxRawGroups)
            """))

        var groups: [String: ErrorGroup] = [:]
        for (rows, fromLogs) in [(logRows, true), (spanRows, false)] {
            for row in rows {
                let raw = RawErrorKey(type: row["type"].text ?? "", message: row["message"].text ?? "", service: row["service"].text ?? "")
                let normalised = ErrorNormaliser.normalise(raw.message)
                let id = ErrorNormaliser.groupID(type: raw.type, message: normalised, service: raw.service)
                var group = groups[id] ?? ErrorGroup(id: id, type: raw.type, message: normalised, service: raw.service, sampleMessage: raw.message)
                let count = row["count"].int ?? 0
                group.count += count
                if fromLogs { group.logCount += count } else { group.spanCount += count }
                let first = row["first_seen"].text ?? "", last = row["last_seen"].text ?? ""
                if group.firstSeen.isEmpty || (!first.isEmpty && first < group.firstSeen) { group.firstSeen = first }
                if last > group.lastSeen {
                    group.lastSeen = last
                    group.sampleMessage = raw.message
                    if let trace = row["trace_id"].text { group.sampleTraceID = trace }
                }
                if group.sampleTraceID == nil { group.sampleTraceID = row["trace_id"].text }
                group.rawKeys.append((raw, fromLogs))
                groups[id] = group
            }
        }
        let sorted = groups.values.sorted { ($0.count, $0.lastSeen, $0.id) > ($1.count, $1.lastSeen, $1.id) }
        return (sorted, logRows.count == Self.maxRawGroups || spanRows.count == Self.maxRawGroups)
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
        let dialect = store.dialect
        var occurrences: [(time: String, row: ResultRow, source: String)] = []
        // One query per raw combination in the group (a group holds few of them).
        for (key, fromLogs) in group.rawKeys.prefix(50) {
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: window.sinceUnixNano)
            let rows: [ResultRow]
            if fromLogs {
                let id = dialect == .postgres ? "id::text AS id" : "id"
                let text = """
                    SELECT \(id), timestamp, level, message, trace_id, span_id, service_name, exception_type, exception_message,
                           exception_traceback, logger_name
                    FROM enterprise.structured_logs
                    WHERE timestamp > \(since) AND \(Self.errorLogFilter)
                      AND \(Self.logType(dialect)) = \(sql.bind(key.type)) AND \(Self.logMessage) = \(sql.bind(key.message))
                      AND COALESCE(service_name, '') = \(sql.bind(key.service))
                    ORDER BY timestamp DESC LIMIT \(sql.bind(Int64(limit)))
                    """
                rows = try await read(sql.query(text))
            } else {
                let text = """
                    SELECT s.span_id, s.start_time AS timestamp, s.trace_id, s.operation_name, s.service_name,
                           s.error_message, s.duration_ms
                    FROM enterprise.trace_spans s
                    WHERE s.start_time > \(since) AND s.status = 'error'
                      AND \(Self.spanType(dialect)) = \(sql.bind(key.type)) AND \(Self.spanMessage(dialect)) = \(sql.bind(key.message))
                      AND COALESCE(s.service_name, '') = \(sql.bind(key.service))
                    ORDER BY s.start_time DESC LIMIT \(sql.bind(Int64(limit)))
                    """
                rows = try await read(sql.query(text))
            }
            occurrences += rows.map { (time: $0["timestamp"].text ?? "", row: $0, source: fromLogs ? "log" : "span") }
        }
        occurrences.sort { $0.time > $1.time }
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
                body.key("source"); body.string(occurrence.source)
                RowJSON.write(occurrence.row, into: &body)
                body.endObject()
            }
            body.endArray()
        }
    }
}

/// Turns error messages that differ only in their variable parts into one: numbers, hex ids,
/// UUIDs, e-mail addresses and quoted values become placeholders.
enum ErrorNormaliser {
    static func normalise(_ message: String) -> String {
        var output = ""
        var token = ""
        func flush() {
            guard !token.isEmpty else { return }
            output += placeholder(for: token) ?? token
            token = ""
        }
        var quote: Character?
        for character in message.prefix(2_000) {
            if let open = quote {
                if character == open { output += "<value>"; quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                flush()
                quote = character
                continue
            }
            if character.isLetter || character.isNumber || "@._-+".contains(character) {
                token.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        if let open = quote { output += String(open) }
        let collapsed = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return String(collapsed.prefix(300))
    }

    /// The placeholder for a word, when it is a variable part.
    static func placeholder(for word: String) -> String? {
        let trimmed = word.trimmingCharacters(in: CharacterSet(charactersIn: "._-+"))
        guard !trimmed.isEmpty else { return nil }
        if trimmed.contains("@"), trimmed.contains(".") { return word.replacingOccurrences(of: trimmed, with: "<email>") }
        if UUID(uuidString: trimmed) != nil { return word.replacingOccurrences(of: trimmed, with: "<uuid>") }
        if trimmed.allSatisfy(\.isNumber) || Double(trimmed) != nil { return word.replacingOccurrences(of: trimmed, with: "<n>") }
        let hex = trimmed.unicodeScalars.allSatisfy { CharacterSet(charactersIn: "0123456789abcdefABCDEF").contains($0) }
        if hex, trimmed.count >= 8, trimmed.contains(where: \.isNumber) { return word.replacingOccurrences(of: trimmed, with: "<id>") }
        if trimmed.contains(where: \.isNumber), trimmed.contains(where: \.isLetter), trimmed.count >= 6,
           trimmed.filter(\.isNumber).count * 3 >= trimmed.count {
            return word.replacingOccurrences(of: trimmed, with: "<id>")
        }
        return nil
    }

    /// A stable id for a group: 16 hex digits of FNV-1a over its key.
    static func groupID(type: String, message: String, service: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in (type + "\u{1F}" + message + "\u{1F}" + service).utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
