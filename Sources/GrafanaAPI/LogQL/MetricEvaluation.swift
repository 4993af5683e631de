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

/// Evaluates metric expressions: range functions from bucket counts the store returns, then
/// aggregation and arithmetic here (pure; the store access is the `fetch` closure).
public struct MetricEvaluator: Sendable {
    public static let maxSeries = 500

    public typealias Fetch = @Sendable (_ selector: LogSelector, _ labels: [String], _ origin: Int64, _ width: Int64) async throws -> [BucketCounts]

    public let steps: EvaluationSteps
    let fetch: Fetch

    public init(steps: EvaluationSteps, fetch: @escaping Fetch) {
        self.steps = steps
        self.fetch = fetch
    }

    public func evaluate(_ expression: MetricExpression) async throws -> MetricValue {
        try await evaluate(expression, grouping: nil)
    }

    /// `grouping` is the `by` labels of an enclosing aggregation, so the store groups by them only.
    private func evaluate(_ expression: MetricExpression, grouping: [String]?) async throws -> MetricValue {
        switch expression {
        case .literal(let value):
            return .scalar(Array(repeating: value, count: steps.count))
        case .vector(let value):
            return .vector([MetricSeries(labels: [:], values: Array(repeating: value, count: steps.count))])
        case .range(let function, let selector, let range):
            let labels = grouping ?? LokiLabels.streamLabels
            let width = Self.gcd(range, steps.step)
            let origin = steps.start - range
            let counts = try await fetch(selector, labels, origin, width)
            guard counts.count <= Self.maxSeries else {
                throw MetricEvaluationError("maximum of series (\(Self.maxSeries)) reached for a single query; group by fewer labels")
            }
            return .vector(counts.map { Self.series($0, function: function, range: range, steps: steps, width: width) }
                .filter { $0.values.contains { $0 != nil } })
        case .aggregation(let op, let group, let inner):
            let pushed: [String]? = group.flatMap { $0.without ? nil : $0.labels }
            guard case .vector(let series) = try await evaluate(inner, grouping: pushed) else {
                throw MetricEvaluationError("\(op.rawValue) needs a vector")
            }
            return .vector(Self.aggregate(op, group, series, count: steps.count))
        case .binary(let op, let left, let right):
            let l = try await evaluate(left, grouping: nil)
            let r = try await evaluate(right, grouping: nil)
            return Self.binary(op, l, r)
        }
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
                case .count: values.append(Double(present.count))
                case .min: values.append(present.min()!)
                case .max: values.append(present.max()!)
                case .avg: values.append(present.reduce(0, +) / Double(present.count))
                }
            }
            return values.contains { $0 != nil } ? MetricSeries(labels: key, values: values) : nil
        }
    }

    /// Arithmetic: scalar with scalar, scalar with each series, and series with the series of
    /// the same labels (one-to-one, as PromQL/LogQL match them).
    static func binary(_ op: ArithmeticOperator, _ left: MetricValue, _ right: MetricValue) -> MetricValue {
        switch (left, right) {
        case (.scalar(let l), .scalar(let r)):
            return .scalar(zip(l, r).map { op.apply($0, $1) })
        case (.vector(let series), .scalar(let r)):
            return .vector(series.map { MetricSeries(labels: $0.labels, values: zip($0.values, r).map { value, scalar in value.map { op.apply($0, scalar) } }) })
        case (.scalar(let l), .vector(let series)):
            return .vector(series.map { MetricSeries(labels: $0.labels, values: zip(l, $0.values).map { scalar, value in value.map { op.apply(scalar, $0) } }) })
        case (.vector(let l), .vector(let r)):
            var byLabels: [[String: String]: MetricSeries] = [:]
            for one in r { byLabels[one.labels] = one }
            return .vector(l.compactMap { one -> MetricSeries? in
                guard let other = byLabels[one.labels] else { return nil }
                let values = zip(one.values, other.values).map { a, b -> Double? in
                    guard let a, let b else { return nil }
                    return op.apply(a, b)
                }
                return values.contains { $0 != nil } ? MetricSeries(labels: one.labels, values: values) : nil
            })
        }
    }
}
