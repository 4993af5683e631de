import Hummingbird
import Store

// What Grafana's Logs Drilldown asks before its first screen, besides the volume: the labels
// worth breaking logs down by, and the fields of the lines.

extension LokiAPI {
    /// Fields Loki keeps beside the line (its structured metadata), which Sightline stores as columns.
    static let metadataFields = ["trace_id", "span_id"]

    /// `GET /loki/api/v1/detected_labels?query=&start=&end=`: the stream labels of the selected
    /// records with how many values each has (counted up to `maxValues`), trace and span ids
    /// left out (they are fields of a line, not streams).
    func detectedLabels(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form, defaultLength: 6 * Self.defaultRange)
        let selection = try form.text("query").map { text throws(GrafanaFailure) in try Self.parseSelector(text, name: "query").selection }
        let names = try await reading { try await loki.labelNames(selection, start: start, end: end, sampleRows: Self.sampleRows) }
        var counted: [(String, Int)] = []
        for name in names where !Self.metadataFields.contains(name) {
            let values = try await reading {
                try await loki.labelValues(name, selection, start: start, end: end, sampleRows: Self.sampleRows, limit: Self.maxValues)
            }
            counted.append((name, values.count))
        }
        return Response.json { body in
            body.key("detectedLabels")
            body.beginArray()
            for (name, cardinality) in counted {
                body.beginObject()
                body.key("label"); body.string(name)
                body.key("cardinality"); body.int(Int64(cardinality))
                body.endObject()
            }
            body.endArray()
        }
    }

    /// `GET /loki/api/v1/detected_fields?query=&start=&end=`: the fields of the selected lines
    /// that Sightline knows (trace and span ids, with how many distinct values each has up to
    /// `maxValues`; no fields are parsed out of the line).
    func detectedFields(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form)
        let selection = try Self.parseSelector(try form.text("query") ?? "{service_name=~\".+\"}", name: "query").selection
        var counted: [(String, Int)] = []
        for name in Self.metadataFields {
            let values = try await reading {
                try await loki.labelValues(name, selection, start: start, end: end, sampleRows: Self.sampleRows, limit: Self.maxValues)
            }
            if !values.isEmpty { counted.append((name, values.count)) }
        }
        return Response.json { body in
            body.key("fields")
            body.beginArray()
            for (name, cardinality) in counted {
                body.beginObject()
                body.key("label"); body.string(name)
                body.key("type"); body.string("string")
                body.key("cardinality"); body.int(Int64(cardinality))
                body.key("parsers"); body.null()
                body.endObject()
            }
            body.endArray()
            body.key("limit"); body.int(Int64(Self.maxValues))
        }
    }
}
