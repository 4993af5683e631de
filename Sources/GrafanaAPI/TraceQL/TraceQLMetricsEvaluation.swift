import Foundation
import Store

/// A TraceQL metrics query's series from the store's counts per step and group
/// (`SpanMetricsRow`): rates, counts, least/greatest/sum/average, quantiles and histograms over
/// power-of-two buckets (as Tempo computes them), `topk`/`bottomk`. Durations are in seconds.
struct TraceQLMetricsEvaluation: Sendable {
    /// A label of a series: a string or a number.
    enum LabelValue: Sendable, Equatable {
        case string(String)
        case int(Int64)
        case double(Double)
        case bool(Bool)
        /// No value (`compare()`'s totals name only the attribute).
        case none
    }

    struct Series: Sendable {
        var labels: [(key: String, value: LabelValue)]
        /// (milliseconds, value), in time order.
        var samples: [(ms: Int64, value: Double)]
        var exemplars: [(traceID: String, ms: Int64, value: Double)] = []
    }

    static let maxSteps = 11_000

    let metrics: TraceQLMetrics
    /// Aligned to `step`, nanoseconds.
    let start: Int64
    let step: Int64
    let steps: Int

    /// Steps of `step` from `start` (rounded down to a multiple of the step) to `end`.
    init(_ metrics: TraceQLMetrics, start: Int64, end: Int64, step: Int64, aligned: Bool = true) {
        self.metrics = metrics
        self.step = step
        self.start = aligned ? start - start % step : start
        self.steps = Int(max(1, (end - self.start + step - 1) / step))
    }

    var end: Int64 { start + Int64(steps) * step }

    /// The store's request for `condition`.
    func request(_ condition: SpanCondition?) -> SpanMetricsRequest {
        SpanMetricsRequest(condition: condition, start: start, end: end, step: step, groupBy: metrics.by.map(\.spanField),
                           value: valueAttribute?.spanField, buckets: needsBuckets)
    }

    var valueAttribute: TraceQLAttribute? {
        switch metrics.function {
        case .rate, .countOverTime, .compare: return nil
        case .minOverTime(let a), .maxOverTime(let a), .avgOverTime(let a), .sumOverTime(let a), .quantileOverTime(let a, _), .histogramOverTime(let a): return a
        }
    }

    var needsBuckets: Bool {
        switch metrics.function {
        case .quantileOverTime, .histogramOverTime: return true
        default: return false
        }
    }

    /// Durations are nanoseconds in the store and seconds in a series.
    func scaled(_ value: Double) -> Double {
        valueAttribute == .duration || valueAttribute == .traceDuration ? value / 1e9 : value
    }

    var name: String {
        switch metrics.function {
        case .rate: return "rate"
        case .countOverTime: return "count_over_time"
        case .minOverTime: return "min_over_time"
        case .maxOverTime: return "max_over_time"
        case .avgOverTime: return "avg_over_time"
        case .sumOverTime: return "sum_over_time"
        case .quantileOverTime: return "quantile_over_time"
        case .histogramOverTime: return "histogram_over_time"
        case .compare: return "compare"
        }
    }

    func ms(_ index: Int64) -> Int64 { (start + index * step) / 1_000_000 }

    func labels(_ group: [SpanFieldValue?]) -> [(key: String, value: LabelValue)] {
        var labels: [(key: String, value: LabelValue)] = []
        for (attribute, value) in zip(metrics.by, group) {
            guard let value else { continue }
            let label: LabelValue
            if attribute == .kind || attribute == .status, let code = Int32(value.text) {
                let names = attribute == .kind ? TraceQLValue.kinds : TraceQLValue.statuses
                labels.append((key: attribute.text, value: .string(names.first { $0.value == code }?.key ?? value.text)))
                continue
            }
            switch value.kind {
            case .int: label = Int64(value.text).map { .int($0) } ?? .string(value.text)
            case .float: label = Double(value.text).map { .double($0) } ?? .string(value.text)
            case .bool: label = .bool(value.text == "true")
            case .string: label = .string(value.text)
            }
            labels.append((key: attribute.text, value: label))
        }
        return labels
    }

    /// The series, in the order of their labels.
    func series(_ rows: [SpanMetricsRow]) -> [Series] {
        var order: [[SpanFieldValue?]] = []
        var byGroup: [[SpanFieldValue?]: [SpanMetricsRow]] = [:]
        for row in rows where row.step >= 0 && row.step < steps {
            if byGroup[row.group] == nil { order.append(row.group) }
            byGroup[row.group, default: []].append(row)
        }
        var result: [Series] = []
        for group in order {
            let rows = byGroup[group] ?? []
            let base = labels(group)
            switch metrics.function {
            case .rate, .countOverTime:
                var counts = [Int64](repeating: 0, count: steps)
                for row in rows { counts[Int(row.step)] += row.count }
                let divisor = metrics.function == .rate ? Double(step) / 1e9 : 1
                var series = Series(labels: base.isEmpty ? [(key: "__name__", value: .string(name))] : base,
                                    samples: counts.indices.map { (ms: ms(Int64($0)), value: Double(counts[$0]) / divisor) })
                series.exemplars = exemplars(rows) { Double(counts[Int($0)]) / divisor }
                result.append(series)
            case .minOverTime, .maxOverTime, .avgOverTime, .sumOverTime:
                var values: [Int64: Double] = [:]
                for row in rows where row.valued > 0 {
                    switch metrics.function {
                    case .minOverTime: values[row.step] = row.min.map(scaled)
                    case .maxOverTime: values[row.step] = row.max.map(scaled)
                    case .sumOverTime: values[row.step] = row.sum.map(scaled)
                    default: values[row.step] = row.sum.map { scaled($0 / Double(row.valued)) }
                    }
                }
                guard !values.isEmpty else { continue }
                var series = Series(labels: base.isEmpty ? [(key: "__name__", value: .string(name))] : base,
                                    samples: values.keys.sorted().map { (ms: ms($0), value: values[$0]!) })
                series.exemplars = exemplars(rows.filter { values[$0.step] != nil }) { values[$0] ?? 0 }
                result.append(series)
            case .quantileOverTime(_, let quantiles):
                var histograms: [Int64: [(bound: Double, count: Int64)]] = [:]
                for row in rows { if let bound = row.bucket { histograms[row.step, default: []].append((bound, row.count)) } }
                for (position, q) in quantiles.enumerated() {
                    let steps = histograms.keys.sorted()
                    guard !steps.isEmpty else { continue }
                    var series = Series(labels: base + [(key: "p", value: .double(q))],
                                        samples: steps.map { (ms: ms($0), value: scaled(Self.quantile(q, histograms[$0]!))) })
                    if position == quantiles.count - 1 {
                        series.exemplars = exemplars(rows) { scaled(Self.quantile(q, histograms[$0] ?? [])) }
                    }
                    result.append(series)
                }
            case .compare:
                break
            case .histogramOverTime:
                var buckets: [Double: [Int64: Int64]] = [:]
                for row in rows { if let bound = row.bucket { buckets[bound, default: [:]][row.step, default: 0] += row.count } }
                for bound in buckets.keys.sorted() {
                    let counts = buckets[bound]!
                    result.append(Series(labels: base + [(key: "__bucket", value: .double(scaled(bound)))],
                                         samples: counts.keys.sorted().map { (ms: ms($0), value: Double(counts[$0]!)) }))
                }
            }
        }
        return rank(result)
    }

    /// One exemplar per step: the latest span of the step, valued as the series is there.
    func exemplars(_ rows: [SpanMetricsRow], _ value: (Int64) -> Double) -> [(traceID: String, ms: Int64, value: Double)] {
        var latest: [Int64: (String, Int64)] = [:]
        for row in rows {
            guard let trace = row.exemplarTraceID, let time = row.exemplarUnixNano else { continue }
            if let current = latest[row.step], current.1 >= time { continue }
            latest[row.step] = (trace, time)
        }
        return latest.keys.sorted().map { (traceID: latest[$0]!.0, ms: latest[$0]!.1 / 1_000_000, value: value($0)) }
    }

    /// Tempo's quantile of a power-of-two histogram: the bucket holding the `q`·total-th value
    /// (rounded up), interpolated linearly between half its bound and its bound.
    static func quantile(_ q: Double, _ buckets: [(bound: Double, count: Int64)]) -> Double {
        let sorted = buckets.sorted { $0.bound < $1.bound }
        let total = sorted.reduce(0) { $0 + $1.count }
        guard total > 0 else { return 0 }
        let target = max(1, Int64((q * Double(total)).rounded(.up)))
        var seen: Int64 = 0
        for bucket in sorted {
            if seen + bucket.count >= target {
                let fraction = Double(target - seen) / Double(bucket.count)
                let lower = bucket.bound / 2
                return lower + (bucket.bound - lower) * fraction
            }
            seen += bucket.count
        }
        return sorted.last?.bound ?? 0
    }

    /// `topk`/`bottomk`: at each time, the `k` series with the greatest (least) values; a
    /// series keeps its samples where it is among them and is left out when it never is.
    func rank(_ series: [Series]) -> [Series] {
        var current = series
        for rank in metrics.ranks {
            let (k, greatest) = switch rank {
            case .topk(let k): (k, true)
            case .bottomk(let k): (k, false)
            }
            var times = Set<Int64>()
            for s in current { for sample in s.samples { times.insert(sample.ms) } }
            var keep: [Int64: Set<Int>] = [:]
            for time in times {
                let candidates = current.indices.compactMap { index -> (Int, Double)? in
                    current[index].samples.first { $0.ms == time }.map { (index, $0.value) }
                }
                let chosen = candidates.sorted { greatest ? $0.1 > $1.1 : $0.1 < $1.1 }.prefix(k).map(\.0)
                keep[time] = Set(chosen)
            }
            var ranked: [Series] = []
            for (index, var s) in current.enumerated() {
                s.samples = s.samples.filter { keep[$0.ms]?.contains(index) == true }
                if !s.samples.isEmpty { ranked.append(s) }
            }
            current = ranked
        }
        return current
    }
}

/// Counts per step, group and bucket of spans that a `SpansetPlan` found (metrics over spanset
/// operators and pipelines), the same rows the store's `spanMetrics` counts in SQL for one
/// spanset filter, so `TraceQLMetricsEvaluation.series` reads either.
struct SpanMetricsCounter: Sendable {
    struct Key: Hashable {
        var step: Int64
        var group: [SpanFieldValue?]
        var bucket: Double?
    }

    let evaluation: TraceQLMetricsEvaluation
    private var counts: [Key: SpanMetricsRow] = [:]

    init(_ evaluation: TraceQLMetricsEvaluation) { self.evaluation = evaluation }

    /// How many rows there are so far (bounded as the store's are).
    var count: Int { counts.count }

    /// Counts one span starting at `start` (nanoseconds) of trace `traceID`, in `group`, with
    /// `value` (nanoseconds for durations; nil where the span has no number); a span outside
    /// the range is left out.
    mutating func add(start: Int64, traceID: String, group: [SpanFieldValue?], value: Double?) {
        guard start >= evaluation.start, start < evaluation.end else { return }
        let step = (start - evaluation.start) / evaluation.step
        var bucket: Double?
        if evaluation.needsBuckets, let value, value <= Double(Int64(1) << 62) {
            var power: Int64 = 1
            while Double(power) < value { power <<= 1 }
            bucket = Double(power)
        }
        add(Key(step: step, group: group, bucket: bucket), start: start, traceID: traceID, value: value)
    }

    private mutating func add(_ key: Key, start: Int64, traceID: String, value: Double?) {
        var row = counts[key] ?? SpanMetricsRow(step: key.step, group: key.group, bucket: key.bucket, count: 0, sum: nil, min: nil, max: nil,
                                                valued: 0, exemplarTraceID: nil, exemplarUnixNano: nil)
        row.count += 1
        if let value {
            row.valued += 1
            row.sum = (row.sum ?? 0) + value
            row.min = Swift.min(row.min ?? value, value)
            row.max = Swift.max(row.max ?? value, value)
        }
        if row.exemplarUnixNano.map({ $0 < start || ($0 == start && (row.exemplarTraceID ?? "") < traceID) }) ?? true {
            row.exemplarUnixNano = start
            row.exemplarTraceID = traceID
        }
        counts[key] = row
    }

    /// The rows in the store's order: by step, then group, then bucket.
    var rows: [SpanMetricsRow] {
        func text(_ group: [SpanFieldValue?]) -> String { group.map { $0.map { "\($0.kind.rawValue):\($0.text)" } ?? "" }.joined(separator: "\u{1}") }
        return counts.values.sorted {
            if $0.step != $1.step { return $0.step < $1.step }
            let (l, r) = (text($0.group), text($1.group))
            if l != r { return l < r }
            return ($0.bucket ?? -1) < ($1.bucket ?? -1)
        }
    }
}
