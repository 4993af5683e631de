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
        let names = try await reading { try await loki.labelNames(selector?.selection, start: start, end: end, sampleRows: Self.sampleRows) }
        return Self.dataList(names)
    }

    /// `GET /loki/api/v1/label/{name}/values?start=&end=&query=`: distinct values (at most
    /// `maxValues`), of the streams `query` selects when given.
    func labelValues(_ request: Request, name: String) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        guard LogQLParser.isLabelName(name) else { throw .badParameter("name", "invalid label name \"\(name.prefix(80))\"") }
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let selector = try form.text("query").map { text throws(GrafanaFailure) in try Self.parseSelector(text, name: "query") }
        let values = try await reading {
            try await loki.labelValues(name, selector?.selection, start: start, end: end, sampleRows: Self.sampleRows, limit: Self.maxValues)
        }
        return Self.dataList(values)
    }

    /// `GET|POST /loki/api/v1/series?match[]=&start=&end=`: the distinct label sets of the
    /// selected streams (every stream label, see `LokiLabels`), at most `maxValues`.
    func series(_ form: FormParameters) async throws(GrafanaFailure) -> Response {
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let matches = form.all("match[]") + form.all("match")
        var selectors: [LogSelector] = []
        for text in matches.prefix(16) { selectors.append(try Self.parseSelector(text, name: "match[]")) }
        let selections = selectors.map(\.selection)
        let sets = try await reading { try await loki.series(selections, start: start, end: end, limit: Self.maxValues) }
        return Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginArray()
            for labels in sets { Self.writeLabels(labels, &body) }
            body.endArray()
        }
    }

    /// `GET /loki/api/v1/index/stats?query=&start=&end=`: `{streams, chunks, entries, bytes}` of
    /// the selected streams (Grafana sizes queries with it).
    func indexStats(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form)
        let selector = try Self.parseSelector(try form.text("query") ?? "{service_name=~\".+\"}", name: "query")
        let selection = selector.selection
        let stats = try await reading { try await loki.indexStats(selection, start: start, end: end) }
        return Response.json { body in
            body.key("streams"); body.int(stats.streams)
            body.key("chunks"); body.int(stats.streams)
            body.key("entries"); body.int(stats.entries)
            body.key("bytes"); body.int(stats.bytes)
        }
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
