import Foundation
import Store

/// The instants a metric query is evaluated at: `start`, `start + step`, … up to `end`
/// (one instant for `/query`).
public struct EvaluationSteps: Sendable, Equatable {
    public static let maxPoints = 11_000

    public var start: Int64
    public var end: Int64
    public var step: Int64

    public init(start: Int64, end: Int64, step: Int64) {
        self.start = start
        self.end = end
        self.step = max(step, 1)
    }

    public var count: Int { Int((end - start) / step) + 1 }

    public func time(_ index: Int) -> Int64 { start + Int64(index) * step }

    public var last: Int64 { time(count - 1) }
}

/// One series of a metric result: its labels and a value (or none) at each instant.
public struct MetricSeries: Sendable, Equatable {
    public var labels: [String: String]
    public var values: [Double?]

    public init(labels: [String: String], values: [Double?]) {
        self.labels = labels
        self.values = values
    }
}

/// What a metric expression evaluates to.
public enum MetricValue: Sendable, Equatable {
    /// The same kind of number at every instant (a literal, or arithmetic on literals).
    case scalar([Double])
    case vector([MetricSeries])
}

/// A metric query failing for its size or shape (answered with 400).
public struct MetricEvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Counts of lines and bytes in fixed buckets of one series, as read from the store:
/// bucket `j` holds lines with `origin + j·width < time ≤ origin + (j+1)·width`.
public struct BucketCounts: Sendable {
    public var labels: [String: String]
    public var buckets: [Int64: (lines: Double, bytes: Double)]

    public init(labels: [String: String], buckets: [Int64: (lines: Double, bytes: Double)] = [:]) {
        self.labels = labels
        self.buckets = buckets
    }
}

/// Evaluates metric expressions: range functions from bucket counts the store returns (no
/// stage run in Sightline), or from the lines it returns run through the pipeline (parsers,
/// `unwrap`); then aggregation, ranking and arithmetic here (pure; the store access is the
/// `fetch` and `fetchLines` closures).
public struct MetricEvaluator: Sendable {
    public static let maxSeries = 500

    /// Bucket counts of `selector`'s lines grouped by `labels`, buckets of `width` after `origin`
    /// up to `last`.
    public typealias Fetch = @Sendable (_ selector: LogSelector, _ labels: [String], _ origin: Int64, _ width: Int64, _ last: Int64) async throws -> [BucketCounts]
    /// The lines of `selector` (its store part) with `after < time ≤ through`, oldest first.
    public typealias FetchLines = @Sendable (_ selector: LogSelector, _ after: Int64, _ through: Int64) async throws -> [LokiLine]

    public let steps: EvaluationSteps
    let fetch: Fetch
    let fetchLines: FetchLines

    public init(steps: EvaluationSteps, fetch: @escaping Fetch, fetchLines: @escaping FetchLines) {
        self.steps = steps
        self.fetch = fetch
        self.fetchLines = fetchLines
    }

    public func evaluate(_ expression: MetricExpression) async throws -> MetricValue {
        try await evaluate(expression, grouping: nil)
    }

    /// `grouping` is the `by` labels of an enclosing `sum`, so the series are summed to them
    /// while they are read.
    private func evaluate(_ expression: MetricExpression, grouping: [String]?) async throws -> MetricValue {
        switch expression {
        case .literal(let value):
            return .scalar(Array(repeating: value, count: steps.count))
        case .vector(let value):
            return .vector([MetricSeries(labels: [:], values: Array(repeating: value, count: steps.count))])
        case .range(let aggregation) where aggregation.function == .absentOverTime:
            var counted = aggregation
            counted.function = .countOverTime
            counted.grouping = nil
            guard case .vector(let series) = try await evaluate(.range(counted), grouping: []) else { return .vector([]) }
            let values = (0..<steps.count).map { instant in series.contains { $0.values[instant] != nil } ? nil : 1.0 }
            guard values.contains(where: { $0 != nil }) else { return .vector([]) }
            return .vector([MetricSeries(labels: Self.absentLabels(aggregation.selector), values: values)])
        case .range(let aggregation):
            if aggregation.countsInStore {
                let labels = grouping ?? LokiLabels.streamLabels
                let width = Self.gcd(aggregation.range, steps.step)
                let origin = steps.start - aggregation.range - aggregation.offset
                let counts = try await fetch(aggregation.selector, labels, origin, width, steps.last - aggregation.offset)
                guard counts.count <= Self.maxSeries else {
                    throw MetricEvaluationError("maximum of series (\(Self.maxSeries)) reached for a single query; group by fewer labels")
                }
                return .vector(counts.map { Self.series($0, function: aggregation.function, range: aggregation.range, steps: steps, width: width) }
                    .filter { $0.values.contains { $0 != nil } })
            }
            return .vector(try await sampled(aggregation, grouping: grouping))
        case .aggregation(let op, let group, let inner):
            let pushed: [String]? = op == .sum ? group.flatMap { $0.without ? nil : $0.labels } : nil
            guard case .vector(let series) = try await evaluate(inner, grouping: pushed) else {
                throw MetricEvaluationError("\(op.rawValue) needs a vector")
            }
            return .vector(Self.aggregate(op, group, series, count: steps.count))
        case .rank(let bottom, let k, let group, let inner):
            guard case .vector(let series) = try await evaluate(inner, grouping: nil) else {
                throw MetricEvaluationError("\(bottom ? "bottomk" : "topk") needs a vector")
            }
            return .vector(Self.rank(series, bottom: bottom, k: k, grouping: group, count: steps.count))
        case .sort(let descending, let inner):
            guard case .vector(let series) = try await evaluate(inner, grouping: nil) else {
                throw MetricEvaluationError("sort needs a vector")
            }
            // Ordered by the value at the last instant (the one of an instant query).
            let last = steps.count - 1
            return .vector(series.sorted { left, right in
                let (l, r) = (left.values[last] ?? .nan, right.values[last] ?? .nan)
                return descending ? l > r : l < r
            })
        case .binary(let op, let left, let right, let matching):
            return try Self.binary(op, try await evaluate(left, grouping: nil), try await evaluate(right, grouping: nil), matching: matching)
        case .comparison(let op, let bool, let left, let right, let matching):
            return try Self.compare(op, bool: bool, try await evaluate(left, grouping: nil), try await evaluate(right, grouping: nil), matching: matching)
        case .set(let op, let left, let right, let matching):
            guard case .vector(let l) = try await evaluate(left, grouping: nil), case .vector(let r) = try await evaluate(right, grouping: nil) else {
                throw MetricEvaluationError("set operator \"\(op.rawValue)\" needs vectors on both sides")
            }
            return .vector(Self.set(op, l, r, matching, count: steps.count))
        case .quantile(let phi, let group, let inner):
            guard case .vector(let series) = try await evaluate(inner, grouping: nil) else { throw MetricEvaluationError("quantile needs a vector") }
            return .vector(Self.quantile(phi, group, series, count: steps.count))
        case .countValues(let label, let group, let inner):
            guard case .vector(let series) = try await evaluate(inner, grouping: nil) else { throw MetricEvaluationError("count_values needs a vector") }
            return .vector(Self.countValues(label, group, series, count: steps.count))
        case .labelReplace(let inner, let replacement):
            guard case .vector(let series) = try await evaluate(inner, grouping: nil) else { throw MetricEvaluationError("label_replace needs a vector") }
            return .vector(try Self.labelReplace(series, replacement))
        }
    }

    // MARK: Range functions over lines run through the pipeline

    /// The range function over the lines the store returns, each run through the pipeline:
    /// series by their labels (the stream's and those extracted, without the unwrapped one;
    /// `by`/`without` of the function; the `by` of an enclosing `sum`).
    func sampled(_ aggregation: RangeAggregation, grouping: [String]?) async throws -> [MetricSeries] {
        let through = steps.last - aggregation.offset
        let after = steps.start - aggregation.range - aggregation.offset
        let lines = try await fetchLines(aggregation.selector, after, through)
        var samples: [[String: String]: [(time: Int64, value: Double)]] = [:]
        for line in lines {
            guard let (labels, value) = try Self.sample(line, aggregation) else { continue }
            var key = labels
            if let grouping { key = key.filter { grouping.contains($0.key) } }
            if samples[key] == nil, samples.count >= Self.maxSeries {
                throw MetricEvaluationError("maximum of series (\(Self.maxSeries)) reached for a single query; group by fewer labels (sum by (…)) or drop labels (| drop …, | keep …)")
            }
            samples[key, default: []].append((line.nanos, value))
        }
        return samples.map { labels, values in
            MetricSeries(labels: labels, values: Self.windowed(values.sorted { $0.time < $1.time }, aggregation, steps: steps))
        }.filter { $0.values.contains { $0 != nil } }
    }

    /// One line's labels and value after the pipeline, nil when the pipeline drops it. A line
    /// still marked with an error fails the query, as in Loki (`| __error__=""` drops them).
    static func sample(_ line: LokiLine, _ aggregation: RangeAggregation) throws -> ([String: String], Double)? {
        let entry = PipelineEntry(line)
        guard var result = aggregation.selector.stages.run(entry, streamLabels: Set(entry.labels.keys)) else { return nil }
        var value: Double
        switch aggregation.function {
        case .bytesOverTime, .bytesRate: value = Double(result.line.utf8.count)
        default: value = 1
        }
        if let unwrap = aggregation.unwrap {
            if result.labels[PipelineEntry.errorLabel] == nil {
                if let read = result.labels[unwrap.label].flatMap(unwrap.value) {
                    value = read
                } else {
                    result.labels[PipelineEntry.errorLabel] = "SampleExtractionErr"
                    result.labels[PipelineEntry.errorDetailsLabel] = "cannot read \(unwrap.label)=\"\(result.labels[unwrap.label]?.prefix(64) ?? "")\" as a \(unwrap.conversion == .number ? "number" : unwrap.conversion == .bytes ? "byte size" : "duration")"
                }
            }
            for filter in unwrap.filters {
                guard filter.evaluate(&result.labels) else { return nil }
            }
        }
        if let error = result.labels[PipelineEntry.errorLabel] {
            let details = result.labels[PipelineEntry.errorDetailsLabel].map { " (\($0))" } ?? ""
            throw MetricEvaluationError("pipeline error: \(error)\(details); drop such lines with | __error__=\"\"")
        }
        var labels = result.labels
        labels[PipelineEntry.errorLabel] = nil
        labels[PipelineEntry.errorDetailsLabel] = nil
        if let grouping = aggregation.grouping, !grouping.without {
            labels = labels.filter { grouping.labels.contains($0.key) }
        } else {
            if let unwrap = aggregation.unwrap { labels[unwrap.label] = nil }
            if let grouping = aggregation.grouping { labels = labels.filter { !grouping.labels.contains($0.key) } }
        }
        return (labels, value)
    }

    /// The function's value at each instant `t` over the samples with
    /// `t - offset - range < time ≤ t - offset` (sorted by time); none where there are none.
    static func windowed(_ samples: [(time: Int64, value: Double)], _ aggregation: RangeAggregation, steps: EvaluationSteps) -> [Double?] {
        /// Index of the first sample with time > `time`.
        func upperBound(_ time: Int64) -> Int {
            var low = 0, high = samples.count
            while low < high {
                let middle = (low + high) / 2
                if samples[middle].time <= time { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let seconds = Double(aggregation.range) / 1e9
        var values: [Double?] = []
        values.reserveCapacity(steps.count)
        for index in 0..<steps.count {
            let end = steps.time(index) - aggregation.offset
            let slice = samples[upperBound(end - aggregation.range)..<upperBound(end)]
            let window = slice.map(\.value)
            guard !window.isEmpty else { values.append(nil); continue }
            let count = Double(window.count)
            let sum = window.reduce(0, +)
            switch aggregation.function {
            case .countOverTime: values.append(count)
            case .rate: values.append((aggregation.unwrap == nil ? count : sum) / seconds)
            case .bytesOverTime, .sumOverTime: values.append(sum)
            case .bytesRate: values.append(sum / seconds)
            case .avgOverTime: values.append(sum / count)
            case .minOverTime: values.append(window.min()!)
            case .maxOverTime: values.append(window.max()!)
            case .stdvarOverTime, .stddevOverTime:
                let mean = sum / count
                let variance = window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
                values.append(aggregation.function == .stddevOverTime ? variance.squareRoot() : variance)
            case .quantileOverTime: values.append(quantile(aggregation.quantile ?? 0.5, window.sorted()))
            case .firstOverTime: values.append(window.first!)
            case .lastOverTime: values.append(window.last!)
            case .rateCounter: values.append(counterRate(slice, range: aggregation.range))
            case .absentOverTime: values.append(1)
            }
        }
        return values
    }

    /// Prometheus's quantile of sorted values: linear interpolation between the nearest ranks;
    /// −∞ below 0, +∞ above 1.
    static func quantile(_ phi: Double, _ sorted: [Double]) -> Double {
        guard phi >= 0 else { return -.infinity }
        guard phi <= 1 else { return .infinity }
        let rank = phi * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let weight = rank - Double(lower)
        return sorted[lower] * (1 - weight) + sorted[upper] * weight
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (x, y) = (abs(a), abs(b))
        while y != 0 { (x, y) = (y, x % y) }
        return max(x, 1)
    }

    /// The range function's value at each instant `t`: over lines with `t - range < time ≤ t`;
    /// no value where there are none (as in Loki).
    static func series(_ counts: BucketCounts, function: RangeFunction, range: Int64, steps: EvaluationSteps, width: Int64) -> MetricSeries {
        let sorted = counts.buckets.keys.sorted()
        var lines = [0.0], bytes = [0.0]
        for key in sorted {
            let bucket = counts.buckets[key]!
            lines.append(lines.last! + bucket.lines)
            bytes.append(bytes.last! + bucket.bytes)
        }
        /// Index of the first bucket key ≥ `key`.
        func lowerBound(_ key: Int64) -> Int {
            var low = 0, high = sorted.count
            while low < high {
                let middle = (low + high) / 2
                if sorted[middle] < key { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let seconds = Double(range) / 1e9
        var values: [Double?] = []
        values.reserveCapacity(steps.count)
        for index in 0..<steps.count {
            let offset = Int64(index) * steps.step
            let first = lowerBound(offset / width)
            let end = lowerBound((offset + range) / width)
            let lineCount = lines[end] - lines[first]
            guard lineCount > 0 else { values.append(nil); continue }
            let byteCount = bytes[end] - bytes[first]
            switch function {
            case .countOverTime: values.append(lineCount)
            case .rate: values.append(lineCount / seconds)
            case .bytesOverTime: values.append(byteCount)
            case .bytesRate: values.append(byteCount / seconds)
            default: values.append(nil)  // functions of unwrapped values are not counted in the store
            }
        }
        return MetricSeries(labels: counts.labels, values: values)
    }

    static func aggregate(_ op: AggregationOperator, _ grouping: Grouping?, _ series: [MetricSeries], count: Int) -> [MetricSeries] {
        var groups: [[String: String]: [MetricSeries]] = [:]
        var order: [[String: String]] = []
        for one in series {
            let key: [String: String]
            switch grouping {
            case nil: key = [:]
            case .some(let group) where group.without: key = one.labels.filter { !group.labels.contains($0.key) }
            case .some(let group): key = one.labels.filter { group.labels.contains($0.key) }
            }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(one)
        }
        return order.compactMap { key in
            let members = groups[key]!
            var values: [Double?] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                let present = members.compactMap { $0.values[index] }
                guard !present.isEmpty else { values.append(nil); continue }
                switch op {
                case .sum: values.append(present.reduce(0, +))
                case .group: values.append(1)
                case .count: values.append(Double(present.count))
                case .min: values.append(present.min()!)
                case .max: values.append(present.max()!)
                case .avg: values.append(present.reduce(0, +) / Double(present.count))
                case .stddev, .stdvar:
                    let mean = present.reduce(0, +) / Double(present.count)
                    let variance = present.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(present.count)
                    values.append(op == .stddev ? variance.squareRoot() : variance)
                }
            }
            return values.contains { $0 != nil } ? MetricSeries(labels: key, values: values) : nil
        }
    }

    /// Arithmetic: scalar with scalar, scalar with each series, and series with series paired
    /// by `matching` (by default one-to-one on identical labels).
    static func binary(_ op: ArithmeticOperator, _ left: MetricValue, _ right: MetricValue, matching: VectorMatching = .identical) throws -> MetricValue {
        switch (left, right) {
        case (.scalar(let l), .scalar(let r)):
            return .scalar(zip(l, r).map { op.apply($0, $1) })
        case (.vector(let series), .scalar(let r)):
            return .vector(series.map { MetricSeries(labels: $0.labels, values: zip($0.values, r).map { value, scalar in value.map { op.apply($0, scalar) } }) })
        case (.scalar(let l), .vector(let series)):
            return .vector(series.map { MetricSeries(labels: $0.labels, values: zip(l, $0.values).map { scalar, value in value.map { op.apply(scalar, $0) } }) })
        case (.vector(let l), .vector(let r)):
            return .vector(try matched(l, r, matching, count: (l.first ?? r.first)?.values.count ?? 0) { op.apply($0, $1) })
        }
    }

    /// topk/bottomk: at each instant, the `k` series of each group with the largest (smallest)
    /// values; a series keeps its values at the instants it was among them.
    static func rank(_ series: [MetricSeries], bottom: Bool, k: Int, grouping: Grouping?, count: Int) -> [MetricSeries] {
        var groups: [[String: String]: [Int]] = [:]
        for (index, one) in series.enumerated() {
            let key: [String: String]
            switch grouping {
            case nil: key = [:]
            case .some(let group) where group.without: key = one.labels.filter { !group.labels.contains($0.key) }
            case .some(let group): key = one.labels.filter { group.labels.contains($0.key) }
            }
            groups[key, default: []].append(index)
        }
        var kept = series.map { MetricSeries(labels: $0.labels, values: Array(repeating: nil, count: count)) }
        for members in groups.values {
            for instant in 0..<count {
                let present = members.compactMap { index in series[index].values[instant].map { (index, $0) } }
                let chosen = present.sorted { bottom ? $0.1 < $1.1 : $0.1 > $1.1 }.prefix(k)
                for (index, value) in chosen { kept[index].values[instant] = value }
            }
        }
        return kept.filter { $0.values.contains { $0 != nil } }
    }

    /// Comparisons: a series keeps the values for which the comparison holds (with `bool`, 1
    /// where it holds and 0 where not); series with series paired by `matching`.
    static func compare(_ op: ComparisonOperator, bool: Bool, _ left: MetricValue, _ right: MetricValue, matching: VectorMatching = .identical) throws -> MetricValue {
        func result(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b else { return nil }
            let holds = op.holds(a, b)
            return bool ? (holds ? 1 : 0) : (holds ? a : nil)
        }
        switch (left, right) {
        case (.scalar(let l), .scalar(let r)):
            return .scalar(zip(l, r).map { op.holds($0, $1) ? 1 : 0 })
        case (.vector(let series), .scalar(let r)):
            return .vector(series.map { MetricSeries(labels: $0.labels, values: zip($0.values, r).map { result($0, $1) }) }.filter { $0.values.contains { $0 != nil } })
        case (.scalar(let l), .vector(let series)):
            return .vector(series.map { one in
                MetricSeries(labels: one.labels, values: zip(l, one.values).map { scalar, value in
                    guard let value else { return nil }
                    let holds = op.holds(scalar, value)
                    return bool ? (holds ? 1 : 0) : (holds ? value : nil)
                })
            }.filter { $0.values.contains { $0 != nil } })
        case (.vector(let l), .vector(let r)):
            return .vector(try matched(l, r, matching, count: (l.first ?? r.first)?.values.count ?? 0) { result($0, $1) })
        }
    }
}
