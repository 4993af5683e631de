import Foundation
import Hummingbird
import Store

/// `GET /metrics/otlp`: the OTLP metrics Sightline stores, in Prometheus text format 0.0.4,
/// translated the way the OpenTelemetry Collector's `prometheus` exporter does (docs/metrics.md):
/// names and units (`http.server.request.duration` in `s` → `http_server_request_duration_seconds`,
/// `_total` for monotonic sums, `_ratio` for unit `1`), `job`/`instance` from
/// `service.namespace`/`service.name`/`service.instance.id`, the resource attributes in
/// `target_info`, delta sums and histograms added up into cumulative ones, exponential histograms
/// as classic buckets. A series whose latest point is older than `expiry` is left out.
public struct OTLPExposition: Sendable {
    let metrics: any MetricQueries
    let expiry: Duration
    /// Series exposed at most.
    let maxSeries: Int

    public init(metrics: any MetricQueries, expiry: Duration, maxSeries: Int = 50_000) {
        self.metrics = metrics
        self.expiry = expiry
        self.maxSeries = maxSeries
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics/otlp") { _, _ -> Response in
            let now = Int64(Date.now.timeIntervalSince1970 * 1e9)
            let cutoff = now - Int64(expiry.components.seconds) * 1_000_000_000
            do {
                let records = try await metrics.exposition(seenSinceUnixNano: cutoff, limit: maxSeries)
                return Response(status: .ok, headers: [.contentType: MetricsEndpoint.contentType],
                                body: .init(byteBuffer: ByteBuffer(string: PrometheusTranslation.render(records))))
            } catch {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "5"],
                                body: .init(byteBuffer: ByteBuffer(string: "the store cannot be read right now\n")))
            }
        }
    }
}

/// The OTLP → Prometheus translation, as pure functions.
enum PrometheusTranslation {
    /// The text of every family, `target_info` first.
    static func render(_ records: [MetricExpositionRecord]) -> String {
        var families: [String: Family] = [:]
        var order: [String] = []
        var targets: [String: [(String, String)]] = [:]
        for record in records {
            let resource = flatAttributes(record.resource)
            let target = targetLabels(resource)
            let targetKey = target.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            if targets[targetKey] == nil {
                let identifying: Set<String> = ["service.name", "service.namespace", "service.instance.id"]
                targets[targetKey] = target + resource.filter { !identifying.contains($0.key) }
                    .map { (labelName($0.key), $0.value) }.sorted { $0.0 < $1.0 }
            }
            let name = metricName(record)
            let type = promType(record)
            if families[name] == nil {
                families[name] = Family(name: name, type: type, help: record.description.isEmpty ? record.name : record.description)
                order.append(name)
            }
            guard families[name]?.type == type else { continue }
            let labels = target + flatAttributes(record.attributes).map { (labelName($0.key), $0.value) }.sorted { $0.0 < $1.0 }
            families[name]?.samples += samples(record, name: name, labels: labels)
        }
        var text = ""
        if !targets.isEmpty {
            text += "# HELP target_info Target metadata\n# TYPE target_info gauge\n"
            for labels in targets.values.sorted(by: { render($0) < render($1) }) {
                text += "target_info\(render(labels)) 1\n"
            }
        }
        for name in order.sorted() {
            guard let family = families[name], !family.samples.isEmpty else { continue }
            text += "# HELP \(name) \(escapeHelp(family.help))\n"
            text += "# TYPE \(name) \(family.type)\n"
            for sample in family.samples { text += sample + "\n" }
        }
        return text
    }

    struct Family {
        var name: String
        var type: String
        var help: String
        var samples: [String] = []
    }

    static func promType(_ record: MetricExpositionRecord) -> String {
        switch record.type {
        case "sum": record.monotonic ? "counter" : "gauge"
        case "histogram", "exponential_histogram": "histogram"
        case "summary": "summary"
        default: "gauge"
        }
    }

    /// The sample lines of one series.
    static func samples(_ record: MetricExpositionRecord, name: String, labels: [(String, String)]) -> [String] {
        let delta = record.temporality == "delta"
        switch record.type {
        case "gauge", "sum":
            guard let value = delta && record.type == "sum" ? record.deltaValue : record.value else { return [] }
            return ["\(name)\(render(labels)) \(number(value))"]
        case "histogram", "exponential_histogram":
            var classic: ClassicBuckets?
            for json in delta ? record.deltaBuckets : (record.buckets.map { [$0] } ?? []) {
                guard let buckets = ClassicBuckets(json: json, type: record.type) else { continue }
                classic = classic.map { $0.adding(buckets) } ?? buckets
            }
            let count = (delta ? record.deltaCount : record.count) ?? 0
            let sum = (delta ? record.deltaSum : record.sum) ?? 0
            var lines: [String] = []
            var cumulative = 0.0
            for (bound, bucketCount) in zip(classic?.bounds ?? [], classic?.counts ?? []) {
                cumulative += bucketCount
                lines.append("\(name)_bucket\(render(labels + [("le", number(bound))])) \(number(cumulative))")
            }
            lines.append("\(name)_bucket\(render(labels + [("le", "+Inf")])) \(number(count))")
            lines.append("\(name)_sum\(render(labels)) \(number(sum))")
            lines.append("\(name)_count\(render(labels)) \(number(count))")
            return lines
        case "summary":
            var lines: [String] = []
            if let json = record.buckets, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
               let quantiles = object["quantiles"] as? [[String: Any]] {
                for quantile in quantiles {
                    guard let q = (quantile["quantile"] as? NSNumber)?.doubleValue, let value = (quantile["value"] as? NSNumber)?.doubleValue else { continue }
                    lines.append("\(name)\(render(labels + [("quantile", number(q))])) \(number(value))")
                }
            }
            lines.append("\(name)_sum\(render(labels)) \(number(record.sum ?? 0))")
            lines.append("\(name)_count\(render(labels)) \(number(record.count ?? 0))")
            return lines
        default:
            return []
        }
    }

    // MARK: Names

    /// The Collector's translation: the name sanitised, the unit's suffix appended unless
    /// already there, `_total` for monotonic sums, `_ratio` for unit `1` (gauges).
    static func metricName(_ record: MetricExpositionRecord) -> String {
        var words = record.name.split(whereSeparator: { !($0.isLetter || $0.isNumber) || !$0.isASCII }).map(String.init)
        let unit = unitWords(record.unit)
        let counter = record.type == "sum" && record.monotonic
        for word in unit where !words.contains(word) { words.append(word) }
        if counter {
            words.removeAll { $0 == "total" }
            words.append("total")
        } else if record.unit == "1", record.type == "gauge", !words.contains("ratio") {
            words.append("ratio")
        }
        var name = words.joined(separator: "_")
        if name.isEmpty { name = "_" }
        if name.first?.isNumber == true { name = "_" + name }
        return name
    }

    /// `s` → `seconds`, `By/s` → `bytes_per_second`; annotations (`{request}`) dropped.
    static func unitWords(_ unit: String) -> [String] {
        var unit = unit
        while let open = unit.firstIndex(of: "{"), let close = unit[open...].firstIndex(of: "}") {
            unit.removeSubrange(open...close)
        }
        guard !unit.isEmpty, unit != "1" else { return [] }
        let parts = unit.split(separator: "/", maxSplits: 1).map(String.init)
        let main = unitNames[parts[0]] ?? sanitizedWord(parts[0])
        guard parts.count == 2 else { return main.isEmpty ? [] : [main] }
        let per = perUnitNames[parts[1]] ?? sanitizedWord(parts[1])
        return [main, "per", per].filter { !$0.isEmpty }
    }

    private static func sanitizedWord(_ text: String) -> String {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber) || !$0.isASCII }).joined(separator: "_")
    }

    static let unitNames: [String: String] = [
        "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
        "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
        "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
        "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
        "Cel": "celsius", "Hz": "hertz", "%": "percent",
    ]
    static let perUnitNames: [String: String] = [
        "s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year",
    ]

    /// A label name: characters outside `[A-Za-z0-9_]` become `_`; a leading digit gets `key_`.
    static func labelName(_ key: String) -> String {
        var name = String(key.map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "_" })
        if name.first?.isNumber == true { name = "key_" + name }
        if name.isEmpty { name = "key_" }
        return name
    }

    /// `job` (`service.namespace/service.name`, or `service.name`) and `instance` (`service.instance.id`).
    static func targetLabels(_ resource: [String: String]) -> [(String, String)] {
        var labels: [(String, String)] = []
        if let service = resource["service.name"] {
            labels.append(("job", resource["service.namespace"].map { "\($0)/\(service)" } ?? service))
        }
        if let instance = resource["service.instance.id"] { labels.append(("instance", instance)) }
        return labels
    }

    // MARK: Text

    /// A flat JSON object's members as text (numbers and booleans as written).
    static func flatAttributes(_ json: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let text as String: result[key] = text
            case let number as NSNumber: result[key] = number.stringValue
            case is NSNull: continue
            default:
                if let data = try? JSONSerialization.data(withJSONObject: value), let text = String(data: data, encoding: .utf8) { result[key] = text }
            }
        }
        return result
    }

    static func render(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        var seen = Set<String>()
        let unique = labels.filter { seen.insert($0.0).inserted }.sorted { $0.0 < $1.0 }
        return "{" + unique.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// Buckets as classic (explicit upper bounds, per-bucket counts, the last bucket above the
/// last bound left to `+Inf`): explicit histograms as stored; exponential histograms with each
/// positive bucket's upper bound `base^(index+1)`, `base = 2^(2^-scale)`, and the zero and
/// negative counts in the first bucket.
struct ClassicBuckets: Equatable {
    var bounds: [Double]
    var counts: [Double]

    init?(json: String, type: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        if type == "histogram" {
            guard let bounds = object["bounds"] as? [NSNumber], let counts = object["counts"] as? [NSNumber] else { return nil }
            self.bounds = bounds.map(\.doubleValue)
            // The count above the last bound goes to +Inf, which is the total count.
            self.counts = Array(counts.map(\.doubleValue).prefix(bounds.count))
        } else {
            guard let scale = (object["scale"] as? NSNumber)?.intValue else { return nil }
            let positive = object["positive"] as? [String: Any]
            let offset = (positive?["offset"] as? NSNumber)?.intValue ?? 0
            let positiveCounts = (positive?["counts"] as? [NSNumber])?.map(\.doubleValue) ?? []
            let negative = ((object["negative"] as? [String: Any])?["counts"] as? [NSNumber])?.map(\.doubleValue) ?? []
            let zero = (object["zeroCount"] as? NSNumber)?.doubleValue ?? 0
            let base = pow(2.0, pow(2.0, -Double(scale)))
            var bounds: [Double] = []
            var counts: [Double] = []
            let below = zero + negative.reduce(0, +)
            if below > 0 || positiveCounts.isEmpty {
                bounds.append(0)
                counts.append(below)
            }
            for (index, count) in positiveCounts.enumerated() {
                bounds.append(pow(base, Double(offset + index + 1)))
                counts.append(count)
            }
            self.bounds = bounds
            self.counts = counts
        }
    }

    /// These counts plus `other`'s, bucket by bucket over the union of the bounds (a bound
    /// one side lacks adds nothing there).
    func adding(_ other: ClassicBuckets) -> ClassicBuckets {
        var byBound: [Double: Double] = [:]
        for (bound, count) in zip(bounds, counts) { byBound[bound, default: 0] += count }
        for (bound, count) in zip(other.bounds, other.counts) { byBound[bound, default: 0] += count }
        var sum = self
        sum.bounds = byBound.keys.sorted()
        sum.counts = sum.bounds.map { byBound[$0] ?? 0 }
        return sum
    }
}
