import Store
import Synchronization

/// Span-derived RED metrics with the OpenTelemetry Collector spanmetrics connector's names, so
/// Jaeger's Monitor tab and stock dashboards find them: `traces_span_metrics_calls_total` and
/// the histogram `traces_span_metrics_duration_milliseconds`, labelled `service_name`,
/// `span_name`, `span_kind` (`SPAN_KIND_SERVER`, …) and `status_code` (`STATUS_CODE_UNSET`,
/// `STATUS_CODE_OK`, `STATUS_CODE_ERROR`).
///
/// Counts spans as they are committed (the rows a commit added, so a re-sent span counts once).
/// At most `maxSeries` label sets are kept; spans of further label sets are counted in one
/// series labelled `otel_metric_overflow="true"`, as the collector does.
public final class SpanMetrics: Sendable {
    public static let callsName = "traces_span_metrics_calls_total"
    public static let durationName = "traces_span_metrics_duration_milliseconds"
    /// The spanmetrics connector's default buckets, in milliseconds.
    public static let bucketsMs: [Double] = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]
    static let bucketsNs: [Int64] = bucketsMs.map { Int64($0 * 1_000_000) }

    /// One label set.
    public struct Key: Hashable, Sendable, Comparable {
        public var serviceName: String
        public var spanName: String
        public var kind: Int32
        public var statusCode: Int32

        public init(serviceName: String, spanName: String, kind: Int32, statusCode: Int32) {
            self.serviceName = serviceName
            self.spanName = spanName
            self.kind = kind
            self.statusCode = statusCode
        }

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.serviceName, lhs.spanName, lhs.kind, lhs.statusCode) < (rhs.serviceName, rhs.spanName, rhs.kind, rhs.statusCode)
        }

        var labels: [(String, String)] {
            [("service_name", serviceName), ("span_name", spanName),
             ("span_kind", Self.kindName(kind)), ("status_code", Self.statusName(statusCode))]
        }

        static func kindName(_ kind: Int32) -> String {
            switch kind {
            case 1: "SPAN_KIND_INTERNAL"
            case 2: "SPAN_KIND_SERVER"
            case 3: "SPAN_KIND_CLIENT"
            case 4: "SPAN_KIND_PRODUCER"
            case 5: "SPAN_KIND_CONSUMER"
            default: "SPAN_KIND_UNSPECIFIED"
            }
        }

        static func statusName(_ code: Int32) -> String {
            switch code {
            case 1: "STATUS_CODE_OK"
            case 2: "STATUS_CODE_ERROR"
            default: "STATUS_CODE_UNSET"
            }
        }
    }

    /// Calls, per-bucket counts (`bucketsMs.count + 1`, the last above every bound) and the
    /// sum of durations in milliseconds of one label set.
    public struct Series: Sendable, Equatable {
        public var calls: Int64 = 0
        public var bucketCounts = [Int64](repeating: 0, count: SpanMetrics.bucketsMs.count + 1)
        public var sumMs: Double = 0
    }

    struct State {
        var series: [Key: Series] = [:]
        var overflow = Series()
    }

    public let maxSeries: Int
    private let state = Mutex(State())

    public init(maxSeries: Int) {
        precondition(maxSeries > 0)
        self.maxSeries = maxSeries
    }

    /// The bucket of a duration in nanoseconds: the first bound it does not exceed.
    static func bucket(nanoseconds: Int64) -> Int {
        var low = 0, high = bucketsNs.count
        while low < high {
            let middle = (low + high) / 2
            if nanoseconds <= bucketsNs[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Counts committed spans.
    public func record(_ spans: [SpanRow]) {
        guard !spans.isEmpty else { return }
        state.withLock { state in
            for span in spans {
                let key = Key(serviceName: span.serviceName, spanName: span.operationName, kind: span.kind, statusCode: span.statusCode)
                let nanoseconds = span.endTimeUnixNano &- span.startTimeUnixNano
                add(key, calls: 1, bucket: Self.bucket(nanoseconds: nanoseconds), sumMs: Double(nanoseconds) / 1_000_000, to: &state)
            }
        }
    }

    private func add(_ key: Key, calls: Int64, bucket: Int, sumMs: Double, to state: inout State) {
        if state.series[key] == nil, state.series.count >= maxSeries {
            state.overflow.calls += calls
            state.overflow.bucketCounts[bucket] += calls
            state.overflow.sumMs += sumMs
            return
        }
        state.series[key, default: Series()].calls += calls
        state.series[key]!.bucketCounts[bucket] += calls
        state.series[key]!.sumMs += sumMs
    }

    /// The series now, for tests and exposition.
    public var snapshot: (series: [Key: Series], overflow: Series) {
        state.withLock { ($0.series, $0.overflow) }
    }

    /// Both families, series sorted by labels, the overflow series last when it has counts.
    public func write(into writer: inout PrometheusTextWriter) {
        let (series, overflow) = snapshot
        var ordered = series.sorted { $0.key < $1.key }.map { (labels: $0.key.labels, series: $0.value) }
        if overflow.calls > 0 { ordered.append((labels: [("otel_metric_overflow", "true")], series: overflow)) }
        writer.family(Self.callsName, type: .counter,
                      help: "Spans stored, by service, span name, span kind and status code.")
        for (labels, series) in ordered { writer.sample(Self.callsName, labels: labels, value: series.calls) }
        writer.family(Self.durationName, type: .histogram,
                      help: "Durations of stored spans in milliseconds, by service, span name, span kind and status code.")
        for (labels, series) in ordered {
            writer.histogram(Self.durationName, labels: labels, bounds: Self.bucketsMs, counts: series.bucketCounts, sum: series.sumMs)
        }
    }
}
