import Foundation
import Store

/// `compare({filter}, topN, start, end)` (Traces Drilldown's comparison), as Tempo answers it:
/// every span of the query is in the selection (the filter matches it, and it starts within
/// `start..<end` when those are given) or in the baseline, and each of its attributes
/// (`span.x`, `resource.x`, `name`, `status`, `kind`) counts once per step for its value.
/// Series: `{__meta_type="baseline"|"selection", <attribute>=<value>}` for the `topN` values of
/// each attribute with the most spans, `{__meta_type="baseline_total"|"selection_total",
/// <attribute>=nil}` per attribute, and `{__meta_error="__too_many_values__", <attribute>=nil}`
/// for an attribute with more values than `topN`.
struct TraceQLComparison: Sendable {
    typealias LabelValue = TraceQLMetricsEvaluation.LabelValue

    let evaluation: TraceQLMetricsEvaluation
    let topN: Int
    let window: Range<Int64>?
    /// Per side (selection true), attribute and value: the counts per step.
    private var values: [Bool: [String: [String: (value: LabelValue, counts: [Int: Double])]]] = [:]
    private var totals: [Bool: [String: [Int: Double]]] = [:]

    init(_ evaluation: TraceQLMetricsEvaluation, topN: Int, start: Int64?, end: Int64?) {
        self.evaluation = evaluation
        self.topN = topN
        window = start.flatMap { start in end.map { start..<$0 } }
    }

    /// Counts a span starting at `start` (nanoseconds) that the filter matches or not, with its
    /// attributes; a span outside the query's range is left out.
    mutating func add(start: Int64, matches: Bool, attributes: [(key: String, value: LabelValue)]) {
        guard start >= evaluation.start, start < evaluation.end else { return }
        let selected = matches && (window?.contains(start) ?? true)
        let step = Int((start - evaluation.start) / evaluation.step)
        for attribute in attributes {
            let key = "\(attribute.value)"
            values[selected, default: [:]][attribute.key, default: [:]][key, default: (attribute.value, [:])].counts[step, default: 0] += 1
            totals[selected, default: [:]][attribute.key, default: [:]][step, default: 0] += 1
        }
    }

    /// A value of an attribute with its counts, the most counted first.
    private struct Ranked: Comparable {
        let value: LabelValue
        let counts: [Int: Double]
        let total: Double

        init(_ entry: (value: LabelValue, counts: [Int: Double])) {
            value = entry.value
            counts = entry.counts
            total = entry.counts.values.reduce(0, +)
        }

        static func < (a: Ranked, b: Ranked) -> Bool { a.total != b.total ? a.total > b.total : "\(a.value)" < "\(b.value)" }
        static func == (a: Ranked, b: Ranked) -> Bool { a.total == b.total && a.value == b.value }
    }

    func series() -> [TraceQLMetricsEvaluation.Series] {
        func samples(_ counts: [Int: Double]) -> [(ms: Int64, value: Double)] {
            (0..<evaluation.steps).map { (ms: evaluation.ms(Int64($0)), value: counts[$0] ?? 0) }
        }
        var result: [TraceQLMetricsEvaluation.Series] = []
        var crowded = Set<String>()
        for (selected, type) in [(false, "baseline"), (true, "selection")] {
            for (attribute, byValue) in (values[selected] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let ranked = byValue.values.map(Ranked.init).sorted()
                for entry in ranked.prefix(topN) {
                    result.append(.init(labels: [(key: "__meta_type", value: .string(type)), (key: attribute, value: entry.value)], samples: samples(entry.counts)))
                }
                if ranked.count > topN { crowded.insert(attribute) }
            }
        }
        for attribute in crowded.sorted() {
            result.append(.init(labels: [(key: "__meta_error", value: .string("__too_many_values__")), (key: attribute, value: .none)], samples: []))
        }
        for (selected, type) in [(false, "baseline_total"), (true, "selection_total")] {
            for (attribute, counts) in (totals[selected] ?? [:]).sorted(by: { $0.key < $1.key }) {
                result.append(.init(labels: [(key: "__meta_type", value: .string(type)), (key: attribute, value: .none)], samples: samples(counts)))
            }
        }
        return result
    }

    /// A stored span's attributes as `compare()` counts them: its intrinsics `name`, `status`
    /// and `kind`, then `span.x` and `resource.x` from the OTLP/JSON the ingest kept (strings,
    /// integers, doubles, booleans; arrays and maps are left out).
    static func attributes(of span: StoredSpan) -> [(key: String, value: LabelValue)] {
        var result: [(key: String, value: LabelValue)] = [
            (key: "name", value: .string(span.name)),
            (key: "status", value: .string(TraceQLValue.statuses.first { $0.value == span.statusCode }?.key ?? "unset")),
            (key: "kind", value: .string(TraceQLValue.kinds.first { $0.value == span.kind }?.key ?? "unspecified")),
        ]
        result += keyValues(try? JSONSerialization.jsonObject(with: Data(span.attributes.utf8)), prefix: "span.")
        let resource = (try? JSONSerialization.jsonObject(with: Data(span.resource.utf8))) as? [String: Any]
        result += keyValues(resource?["attributes"], prefix: "resource.")
        return result
    }

    static func keyValues(_ json: Any?, prefix: String) -> [(key: String, value: LabelValue)] {
        guard let list = json as? [[String: Any]] else { return [] }
        return list.compactMap { pair in
            guard let key = pair["key"] as? String, let value = pair["value"] as? [String: Any] else { return nil }
            if let text = value["stringValue"] as? String { return (key: prefix + key, value: .string(text)) }
            if let number = value["intValue"] { return Int64("\(number)").map { (key: prefix + key, value: .int($0)) } }
            if let number = value["doubleValue"] as? NSNumber { return (key: prefix + key, value: .double(number.doubleValue)) }
            if let flag = value["boolValue"] as? Bool { return (key: prefix + key, value: .bool(flag)) }
            return nil
        }
    }
}
