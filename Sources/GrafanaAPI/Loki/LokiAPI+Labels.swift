import Foundation
import Hummingbird
import OTLP
import Store

// /labels, /label/{name}/values, /series, /index/stats: the label browser's calls.

extension LokiAPI {
    /// `GET /loki/api/v1/labels?start=&end=&query=`: the stream labels present in the range
    /// (resource labels found among the most recent `sampleRows` rows).
    func labels(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let selector = try form.text("query").map { text throws(GrafanaFailure) in try Self.parseSelector(text, name: "query") }
        var sql = SQLBuilder(store.dialect)
        let filter = try timeFilter(&sql, start: start, end: end, selector: selector)
        let limit = sql.bind(Int64(Self.sampleRows))
        // Few distinct resources: the JSON is read once each.
        let sample = """
            SELECT DISTINCT x.service_name, x.logger_name, x.resource FROM (SELECT l.service_name, l.logger_name, l.resource
            FROM enterprise.structured_logs l WHERE \(filter) ORDER BY l.timestamp DESC LIMIT \(limit)) x
            """
        let rows = try await read(sql.query(sample))
        var names: Set<String> = []
        for row in rows {
            if row["service_name"].text?.isEmpty == false { names.insert("service_name") }
            if row["logger_name"].text?.isEmpty == false { names.insert("logger") }
            names.insert("level")
            names.insert("detected_level")
            if let resource = row["resource"].text, resource.contains("\"attributes\"") {
                names.formUnion(Self.resourceLabels(resource).keys)
            }
        }
        return Self.dataList(names.sorted())
    }

    /// `GET /loki/api/v1/label/{name}/values?start=&end=&query=`: distinct values (at most
    /// `maxValues`), of the streams `query` selects when given.
    func labelValues(_ request: Request, name: String) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        guard LogQLParser.isLabelName(name) else { throw .badParameter("name", "invalid label name \"\(name.prefix(80))\"") }
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let selector = try form.text("query").map { text throws(GrafanaFailure) in try Self.parseSelector(text, name: "query") }
        var sql = SQLBuilder(store.dialect)
        guard let column = LokiLabels.valueSQL(name, &sql) else { return Self.dataList([]) }
        let filter = try timeFilter(&sql, start: start, end: end, selector: selector)
        let text: String
        if LokiLabels.resourceLabels[name] != nil {
            // A JSON lookup per row: over the most recent rows only.
            let sampleLimit = sql.bind(Int64(Self.sampleRows))
            let limit = sql.bind(Int64(Self.maxValues))
            text = """
                SELECT DISTINCT x.v FROM (SELECT \(column) AS v FROM enterprise.structured_logs l WHERE \(filter)
                ORDER BY l.timestamp DESC LIMIT \(sampleLimit)) x WHERE x.v IS NOT NULL AND x.v <> '' ORDER BY x.v LIMIT \(limit)
                """
        } else {
            let limit = sql.bind(Int64(Self.maxValues))
            text = """
                SELECT DISTINCT \(column) AS v FROM enterprise.structured_logs l
                WHERE \(filter) AND \(column) IS NOT NULL AND \(column) <> '' ORDER BY v LIMIT \(limit)
                """
        }
        let rows = try await read(sql.query(text))
        return Self.dataList(rows.compactMap { $0["v"].text })
    }

    /// `GET|POST /loki/api/v1/series?match[]=&start=&end=`: the distinct label sets of the
    /// selected streams (service, level, logger), at most `maxValues`.
    func series(_ form: FormParameters) async throws(GrafanaFailure) -> Response {
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let matches = form.all("match[]") + form.all("match")
        var selectors: [LogSelector] = []
        for text in matches.prefix(16) { selectors.append(try Self.parseSelector(text, name: "match[]")) }
        var sql = SQLBuilder(store.dialect)
        var filter = try timeFilter(&sql, start: start, end: end, selector: nil)
        if !selectors.isEmpty {
            var alternatives: [String] = []
            for selector in selectors { alternatives.append("(\(selector.sql(&sql)))") }
            filter += " AND (\(alternatives.joined(separator: " OR ")))"
        }
        let limit = sql.bind(Int64(Self.maxValues))
        let rows = try await read(sql.query("""
            SELECT DISTINCT l.service_name, l.level, l.logger_name FROM enterprise.structured_logs l
            WHERE \(filter) ORDER BY l.service_name, l.level, l.logger_name LIMIT \(limit)
            """))
        return Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginArray()
            var resources: [String: [String: String]] = [:]
            for row in rows { Self.writeLabels(Self.streamLabels(row, resources: &resources), &body) }
            body.endArray()
        }
    }

    /// `GET /loki/api/v1/index/stats?query=&start=&end=`: `{streams, chunks, entries, bytes}` of
    /// the selected streams (Grafana sizes queries with it).
    func indexStats(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form)
        let selector = try Self.parseSelector(try form.text("query") ?? "{service_name=~\".+\"}", name: "query")
        var sql = SQLBuilder(store.dialect)
        let filter = try timeFilter(&sql, start: start, end: end, selector: selector)
        let row = try await read(sql.query("""
            SELECT count(*) AS entries, coalesce(sum(\(LokiLabels.bytesSQL(store.dialect))), 0) AS bytes,
                   count(DISTINCT coalesce(l.service_name, '') || '|' || l.level || '|' || l.logger_name) AS streams
            FROM enterprise.structured_logs l WHERE \(filter)
            """)).first
        let streams = row?["streams"].int ?? 0
        return Response.json { body in
            body.key("streams"); body.int(streams)
            body.key("chunks"); body.int(streams)
            body.key("entries"); body.int(row?["entries"].int ?? 0)
            body.key("bytes"); body.int(row?["bytes"].int ?? 0)
        }
    }

    /// `l.timestamp` within [start, end] and the selector's conditions.
    func timeFilter(_ sql: inout SQLBuilder, start: Int64, end: Int64, selector: LogSelector?) throws(GrafanaFailure) -> String {
        let from = sql.bindTime(unixNano: start)
        let to = sql.bindTime(unixNano: end)
        var filter = "l.timestamp >= \(from) AND l.timestamp <= \(to)"
        if let selector { filter += " AND " + selector.sql(&sql) }
        return filter
    }

    static func dataList(_ values: [String]) -> Response {
        Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginArray()
            for value in values { body.string(value) }
            body.endArray()
        }
    }
}
