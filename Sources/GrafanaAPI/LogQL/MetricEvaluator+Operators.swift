import Foundation

/// Binary operators between two vectors (vector matching, set operators), the aggregations
/// with a parameter (`quantile`, `count_values`) and `label_replace`, as PromQL defines them
/// and Loki applies them; pure, each instant on its own as in PromQL.
extension MetricEvaluator {
    /// The series of one result, keyed by labels in the order they first appear.
    struct SeriesBuilder {
        let count: Int
        var order: [[String: String]] = []
        var values: [[String: String]: [Double?]] = [:]

        init(count: Int) { self.count = count }

        /// Whether the series already has a value at `instant`.
        func has(_ labels: [String: String], at instant: Int) -> Bool { values[labels]?[instant] != nil }

        mutating func set(_ labels: [String: String], _ instant: Int, _ value: Double) {
            if values[labels] == nil {
                order.append(labels)
                values[labels] = Array(repeating: nil, count: count)
            }
            values[labels]![instant] = value
        }

        var series: [MetricSeries] { order.map { MetricSeries(labels: $0, values: values[$0]!) } }
    }

    static func text(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    /// Arithmetic or a comparison between two vectors: at each instant each series of the
    /// "many" side is paired with the series of the other side of the same signature (an
    /// error when the pairing is ambiguous, as in PromQL); `compute` gives the value (nil drops
    /// the pair) from the left and right values.
    static func matched(_ left: [MetricSeries], _ right: [MetricSeries], _ matching: VectorMatching, count: Int,
                        keepsLabels: Bool = false, compute: (Double, Double) -> Double?) throws -> [MetricSeries] {
        // The "many" side first.
        let (many, one) = matching.cardinality == .oneToMany ? (right, left) : (left, right)
        var result = SeriesBuilder(count: count)
        for instant in 0..<count {
            var bySignature: [[String: String]: MetricSeries] = [:]
            for series in one where series.values[instant] != nil {
                let signature = matching.signature(series.labels)
                if let other = bySignature[signature] {
                    let side = matching.cardinality == .oneToMany ? "left" : "right"
                    throw MetricEvaluationError("found duplicate series for the match group \(text(signature)) on the \(side) hand-side of the operation: [\(text(other.labels)), \(text(series.labels))]; many-to-many matching not allowed: matching labels must be unique on one side")
                }
                bySignature[signature] = series
            }
            var matched: Set<[String: String]> = []
            for series in many {
                guard let value = series.values[instant] else { continue }
                let signature = matching.signature(series.labels)
                guard let other = bySignature[signature], let otherValue = other.values[instant] else { continue }
                let (l, r) = matching.cardinality == .oneToMany ? (otherValue, value) : (value, otherValue)
                guard let computed = compute(l, r) else { continue }
                if matching.cardinality == .oneToOne {
                    guard matched.insert(signature).inserted else {
                        throw MetricEvaluationError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                }
                let labels = resultLabels(series.labels, other.labels, matching)
                if matching.cardinality != .oneToOne, result.has(labels, at: instant) {
                    throw MetricEvaluationError("multiple matches for labels: grouping labels must ensure unique matches")
                }
                result.set(labels, instant, computed)
            }
        }
        return result.series
    }

    /// PromQL's labels of a pair: one-to-one keeps the `on` labels (or drops the `ignoring`
    /// ones); `group_left`/`group_right` keep the "many" side's labels and copy the listed ones
    /// from the "one" side.
    static func resultLabels(_ many: [String: String], _ one: [String: String], _ matching: VectorMatching) -> [String: String] {
        var labels = many
        if matching.cardinality == .oneToOne {
            labels = matching.signature(many)
        }
        for name in matching.include {
            if let value = one[name], !value.isEmpty { labels[name] = value } else { labels[name] = nil }
        }
        return labels
    }

    /// `and`: left series at the instants some right series of their signature has a value;
    /// `unless`: at the instants none has; `or`: every left series, and right series at the
    /// instants no left series of their signature has a value.
    static func set(_ op: SetOperator, _ left: [MetricSeries], _ right: [MetricSeries], _ matching: VectorMatching, count: Int) -> [MetricSeries] {
        var result = SeriesBuilder(count: count)
        for instant in 0..<count {
            let rightSignatures = Set(right.filter { $0.values[instant] != nil }.map { matching.signature($0.labels) })
            for series in left {
                guard let value = series.values[instant] else { continue }
                let found = rightSignatures.contains(matching.signature(series.labels))
                if op == .or || (op == .and) == found { result.set(series.labels, instant, value) }
            }
            guard op == .or else { continue }
            let leftSignatures = Set(left.filter { $0.values[instant] != nil }.map { matching.signature($0.labels) })
            for series in right {
                guard let value = series.values[instant], !leftSignatures.contains(matching.signature(series.labels)) else { continue }
                result.set(series.labels, instant, value)
            }
        }
        return result.series
    }

    static func groupKey(_ labels: [String: String], _ grouping: Grouping?) -> [String: String] {
        switch grouping {
        case nil: return [:]
        case .some(let group) where group.without: return labels.filter { !group.labels.contains($0.key) }
        case .some(let group): return labels.filter { group.labels.contains($0.key) }
        }
    }

    /// `quantile(φ, …)`: per group and instant, the φ-quantile of the values present.
    static func quantile(_ phi: Double, _ grouping: Grouping?, _ series: [MetricSeries], count: Int) -> [MetricSeries] {
        var result = SeriesBuilder(count: count)
        for instant in 0..<count {
            var groups: [[String: String]: [Double]] = [:]
            var order: [[String: String]] = []
            for one in series {
                guard let value = one.values[instant] else { continue }
                let key = groupKey(one.labels, grouping)
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(value)
            }
            for key in order { result.set(key, instant, quantile(phi, groups[key]!.sorted())) }
        }
        return result.series
    }

    /// `count_values("label", …)`: per group and instant, how many series have each value; the
    /// value (as Go formats a float) in `label`.
    static func countValues(_ label: String, _ grouping: Grouping?, _ series: [MetricSeries], count: Int) -> [MetricSeries] {
        var result = SeriesBuilder(count: count)
        for instant in 0..<count {
            var counts: [[String: String]: Double] = [:]
            var order: [[String: String]] = []
            for one in series {
                guard let value = one.values[instant] else { continue }
                var key = groupKey(one.labels, grouping)
                key[label] = formatValue(value)
                if counts[key] == nil { order.append(key) }
                counts[key, default: 0] += 1
            }
            for key in order { result.set(key, instant, counts[key]!) }
        }
        return result.series
    }

    /// A sample value as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it.
    static func formatValue(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        let shortest = "\(value)"
        return shortest.contains("e") ? "\(Decimal(value))" : shortest
    }

    /// `label_replace`: series whose source label matches get the destination label; two
    /// series ending with the same labels is an error, as in PromQL.
    static func labelReplace(_ series: [MetricSeries], _ replacement: LabelReplacement) throws -> [MetricSeries] {
        guard let regex = LogQLRegex.compile(LogQLRegex.anchored(LogParsers.foundationPattern(replacement.regex))) else {
            throw MetricEvaluationError("invalid regular expression in label_replace()")
        }
        var seen: Set<[String: String]> = []
        return try series.map { one in
            var labels = one.labels
            let source = labels[replacement.source] ?? ""
            if let match = regex.firstMatch(in: source, range: NSRange(source.startIndex..., in: source)) {
                let value = expand(replacement.replacement, match, in: source)
                labels[replacement.destination] = value.isEmpty ? nil : value
            }
            guard seen.insert(labels).inserted else {
                throw MetricEvaluationError("vector cannot contain metrics with the same labelset")
            }
            return MetricSeries(labels: labels, values: one.values)
        }
    }

    /// Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; an unknown group is "".
    static func expand(_ template: String, _ match: NSTextCheckingResult, in text: String) -> String {
        func group(_ name: String) -> String {
            let range = Int(name).map { $0 < match.numberOfRanges ? match.range(at: $0) : NSRange(location: NSNotFound, length: 0) }
                ?? match.range(withName: name)
            guard range.location != NSNotFound, let bounds = Range(range, in: text) else { return "" }
            return String(text[bounds])
        }
        var result = ""
        var rest = Substring(template)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" {
                result += "$"
                rest = rest.dropFirst()
            } else if rest.first == "{", let close = rest.firstIndex(of: "}") {
                result += group(String(rest[rest.index(after: rest.startIndex)..<close]))
                rest = rest[rest.index(after: close)...]
            } else {
                let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                if name.isEmpty { result += "$" } else { result += group(String(name)) }
                rest = rest.dropFirst(name.count)
            }
        }
        return result + rest
    }

    /// Loki's `rate_counter`: the increase of the values taken as a counter (a drop is a
    /// reset), extrapolated as Loki's copy of Prometheus's `extrapolatedRate` does (its range
    /// measured from the first sample), per second of the range; 0 with fewer than two samples.
    static func counterRate(_ samples: ArraySlice<(time: Int64, value: Double)>, range: Int64) -> Double {
        guard samples.count >= 2, let first = samples.first, let last = samples.last else { return 0 }
        var increase = last.value - first.value
        var previous = 0.0
        for sample in samples {
            if sample.value < previous { increase += previous }
            previous = sample.value
        }
        let milliseconds = { (nanos: Int64) in nanos / 1_000_000 }
        let rangeSeconds = Double(range) / 1e9
        var toStart = Double(milliseconds(range)) / 1000
        let sampled = Double(milliseconds(last.time) - milliseconds(first.time)) / 1000
        let average = sampled / Double(samples.count - 1)
        if increase > 0, first.value >= 0 { toStart = min(toStart, sampled * (first.value / increase)) }
        let threshold = average * 1.1
        var interval = sampled
        interval += toStart < threshold ? toStart : average / 2
        interval += 0 < threshold ? 0 : average / 2
        return increase * (interval / sampled) / rangeSeconds
    }

    /// The labels `absent_over_time` answers with: the selector's `=` matchers, but for a label
    /// matched more than once or otherwise.
    static func absentLabels(_ selector: LogSelector) -> [String: String] {
        var labels: [String: String] = [:]
        var dropped: Set<String> = []
        for matcher in selector.matchers {
            if matcher.op == .equal, labels[matcher.name] == nil { labels[matcher.name] = matcher.value } else { dropped.insert(matcher.name) }
        }
        return labels.filter { !dropped.contains($0.key) }
    }
}
