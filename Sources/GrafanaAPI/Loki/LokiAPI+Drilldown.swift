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

    /// Lines read to detect the fields parsed out of them: the most recent of the range.
    static let fieldLines = 1_000

    /// `GET /loki/api/v1/detected_fields?query=&start=&end=`: the fields of the selected lines:
    /// trace and span ids (with how many distinct values each has, up to `maxValues`), and the
    /// fields `json` or `logfmt` extract from the most recent `fieldLines` lines, with their type
    /// (`int`, `float`, `boolean`, `duration`, `bytes`, `string`) and parser.
    func detectedFields(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let (start, end) = try Self.range(form)
        let selector = try Self.parseSelector(try form.text("query") ?? "{service_name=~\".+\"}", name: "query")
        let selection = selector.selection
        var counted: [DetectedField] = []
        for name in Self.metadataFields {
            let values = try await reading {
                try await loki.labelValues(name, selection, start: start, end: end, sampleRows: Self.sampleRows, limit: Self.maxValues)
            }
            if !values.isEmpty { counted.append(DetectedField(label: name, type: "string", cardinality: values.count, parsers: nil)) }
        }
        let recent = try await lines(selector, from: start, toExclusive: end + 1, limit: Self.fieldLines, backward: true)
        counted += DetectedField.parsed(recent.map(\.text)).filter { field in !counted.contains { $0.label == field.label } }
        return Response.json { body in
            body.key("fields")
            body.beginArray()
            for field in counted {
                body.beginObject()
                body.key("label"); body.string(field.label)
                body.key("type"); body.string(field.type)
                body.key("cardinality"); body.int(Int64(field.cardinality))
                body.key("parsers")
                if let parsers = field.parsers {
                    body.beginArray()
                    for parser in parsers { body.string(parser) }
                    body.endArray()
                } else {
                    body.null()
                }
                body.endObject()
            }
            body.endArray()
            body.key("limit"); body.int(Int64(Self.maxValues))
        }
    }
}

/// A field of `detected_fields`.
struct DetectedField: Equatable {
    var label: String
    var type: String
    var cardinality: Int
    var parsers: [String]?

    /// The fields of lines as Loki detects them: a JSON object's fields (nested keys joined
    /// with `_`), else logfmt's keys when the line has `key=value` pairs; each field's type is
    /// the narrowest that reads all its values; distinct values counted up to 1,000.
    static func parsed(_ lines: [String]) -> [DetectedField] {
        var values: [String: Set<String>] = [:]
        var parsers: [String: Set<String>] = [:]
        var order: [String] = []
        for line in lines {
            var labels: [String: String] = [:]
            let parser: String
            if line.first == "{" {
                LogParsers.json(line, [], into: &labels, streamLabels: [])
                parser = "json"
            } else if line.contains("=") {
                LogParsers.logfmt(line, [], strict: false, keepEmpty: false, into: &labels, streamLabels: [])
                parser = "logfmt"
            } else {
                continue
            }
            guard labels[PipelineEntry.errorLabel] == nil else { continue }
            for (name, value) in labels {
                if values[name] == nil { order.append(name) }
                if values[name, default: []].count < LokiAPI.maxValues { values[name, default: []].insert(value) }
                parsers[name, default: []].insert(parser)
            }
        }
        return order.sorted().map { name in
            DetectedField(label: name, type: type(of: values[name] ?? []), cardinality: values[name]?.count ?? 0, parsers: parsers[name]?.sorted())
        }
    }

    static func type(of values: Set<String>) -> String {
        if values.allSatisfy({ Int64($0) != nil }) { return "int" }
        if values.allSatisfy({ Double($0) != nil }) { return "float" }
        if values.allSatisfy({ $0 == "true" || $0 == "false" }) { return "boolean" }
        if values.allSatisfy({ GoDuration.parse($0) != nil }) { return "duration" }
        if values.allSatisfy({ ByteSize.parse($0) != nil }) { return "bytes" }
        return "string"
    }
}
