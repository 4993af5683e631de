import Foundation
import Hummingbird
import OTLP
import Store

// GET /logs, /logs/{id}, /logs/stats/levels (docs/api.md).

extension ObservabilityAPI {
    static let levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    /// Names clients also use for the stored levels.
    static let levelAliases = ["warn": "WARNING", "fatal": "CRITICAL", "trace": "DEBUG"]
    /// The members of a listed record (`LogListItem`), as `GET /logs` and the live stream send them.
    static let logListColumns = [
        "id", "timestamp", "level", "logger_name", "message", "trace_id", "span_id", "user_email", "department",
        "session_id", "endpoint", "extra", "exception_type", "exception_message", "service_name", "severity_number",
        "severity_text",
    ]

    /// `GET /logs?hours=&level=&logger_name=&service=&trace_id=&user_email=&search=&limit=&offset=`
    /// (`logger_name` matches a part of the name, `search` is full-text over the message:
    /// every word must occur, stemmed as English).
    func listLogs(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let limit = try parameters.int("limit", default: 100, in: 1...1000)
        let offset = try parameters.int("offset", default: 0, in: 0...1_000_000)
        let filter = LogFilter(
            since: window.sinceUnixNano, level: try parameters.choice("level", Self.levels, aliases: Self.levelAliases),
            loggerName: try parameters.text("logger_name"), service: try parameters.text("service"),
            traceID: try parameters.traceID("trace_id"), userEmail: try parameters.text("user_email"),
            search: try parameters.text("search"))
        let page = try await run { () async throws(StoreError) in
            try await logs.logList(filter, limit: limit, offset: offset, countLimit: countLimit)
        }
        return Self.listPage("logs", page.logs, total: page.total, limit: limit, offset: offset)
    }

    /// `GET /logs/{id}`: every column of one record.
    func log(_ request: Request, id text: String) async throws(QueryFailure) -> Response {
        guard let uuid = UUID(uuidString: text) else { throw .badParameter("id", "expected a UUID") }
        let id = uuid.uuidString.lowercased()
        guard let record = try await run({ () async throws(StoreError) in try await logs.log(id: id) }) else {
            throw .notFound("log \(id)")
        }
        return .jsonObject { body in RecordJSON.write(record, into: &body) }
    }

    /// `GET /logs/stats/levels?hours=`: how many records of each level, most first.
    func logLevels(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let counts = try await run { () async throws(StoreError) in try await logs.levelCounts(since: window.sinceUnixNano) }
        let rows = counts.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("levels")
            body.beginObject()
            for (level, count) in rows {
                body.key(level); body.int(count)
            }
            body.endObject()
        }
    }
}
