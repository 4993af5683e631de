/// `ExportMetricsServiceRequest` (and `MetricsData`, which has the same shape).
public struct ExportMetricsServiceRequest: Sendable, Hashable {
    public var resourceMetrics: [ResourceMetrics]

    public init(resourceMetrics: [ResourceMetrics] = []) { self.resourceMetrics = resourceMetrics }

    /// The number of data points in the request.
    public var dataPointCount: Int {
        resourceMetrics.reduce(0) { $0 + $1.scopeMetrics.reduce(0) { $0 + $1.metrics.reduce(0) { $0 + $1.data.dataPointCount } } }
    }
}

public struct ResourceMetrics: Sendable, Hashable {
    public var resource: Resource
    public var scopeMetrics: [ScopeMetrics]
    public var schemaUrl: String

    public init(resource: Resource = .init(), scopeMetrics: [ScopeMetrics] = [], schemaUrl: String = "") {
        self.resource = resource
        self.scopeMetrics = scopeMetrics
        self.schemaUrl = schemaUrl
    }
}

public struct ScopeMetrics: Sendable, Hashable {
    public var scope: InstrumentationScope
    public var metrics: [Metric]
    public var schemaUrl: String

    public init(scope: InstrumentationScope = .init(), metrics: [Metric] = [], schemaUrl: String = "") {
        self.scope = scope
        self.metrics = metrics
        self.schemaUrl = schemaUrl
    }
}

/// `opentelemetry.proto.metrics.v1.Metric`: a named instrument and its data points.
public struct Metric: Sendable, Hashable {
    public var name: String
    public var description: String
    public var unit: String
    public var data: MetricData
    public var metadata: [KeyValue]

    public init(name: String, description: String = "", unit: String = "", data: MetricData, metadata: [KeyValue] = []) {
        self.name = name
        self.description = description
        self.unit = unit
        self.data = data
        self.metadata = metadata
    }
}

/// The `data` oneof of a metric: exactly one kind.
public enum MetricData: Sendable, Hashable {
    case gauge([NumberDataPoint])
    case sum(Sum)
    case histogram(Histogram)
    case exponentialHistogram(ExponentialHistogram)
    case summary([SummaryDataPoint])

    public var dataPointCount: Int {
        switch self {
        case .gauge(let points): points.count
        case .sum(let sum): sum.dataPoints.count
        case .histogram(let histogram): histogram.dataPoints.count
        case .exponentialHistogram(let histogram): histogram.dataPoints.count
        case .summary(let points): points.count
        }
    }
}

/// `opentelemetry.proto.metrics.v1.Sum`.
public struct Sum: Sendable, Hashable {
    public var dataPoints: [NumberDataPoint]
    public var aggregationTemporality: AggregationTemporality
    public var isMonotonic: Bool

    public init(dataPoints: [NumberDataPoint] = [], aggregationTemporality: AggregationTemporality = .cumulative, isMonotonic: Bool = false) {
        self.dataPoints = dataPoints
        self.aggregationTemporality = aggregationTemporality
        self.isMonotonic = isMonotonic
    }
}

/// `opentelemetry.proto.metrics.v1.Histogram`.
public struct Histogram: Sendable, Hashable {
    public var dataPoints: [HistogramDataPoint]
    public var aggregationTemporality: AggregationTemporality

    public init(dataPoints: [HistogramDataPoint] = [], aggregationTemporality: AggregationTemporality = .cumulative) {
        self.dataPoints = dataPoints
        self.aggregationTemporality = aggregationTemporality
    }
}

/// `opentelemetry.proto.metrics.v1.ExponentialHistogram`.
public struct ExponentialHistogram: Sendable, Hashable {
    public var dataPoints: [ExponentialHistogramDataPoint]
    public var aggregationTemporality: AggregationTemporality

    public init(dataPoints: [ExponentialHistogramDataPoint] = [], aggregationTemporality: AggregationTemporality = .cumulative) {
        self.dataPoints = dataPoints
        self.aggregationTemporality = aggregationTemporality
    }
}

/// `AggregationTemporality` (0 unspecified, 1 delta, 2 cumulative).
public struct AggregationTemporality: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = AggregationTemporality(rawValue: 0)
    public static let delta = AggregationTemporality(rawValue: 1)
    public static let cumulative = AggregationTemporality(rawValue: 2)

    static let names = ["AGGREGATION_TEMPORALITY_UNSPECIFIED", "AGGREGATION_TEMPORALITY_DELTA", "AGGREGATION_TEMPORALITY_CUMULATIVE"]
}

/// The value of a number data point or an exemplar (`as_double` or `as_int`).
public enum NumberValue: Sendable, Hashable {
    case double(Double)
    case int(Int64)

    public var doubleValue: Double {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        }
    }
}

/// `opentelemetry.proto.metrics.v1.NumberDataPoint` (gauges and sums).
public struct NumberDataPoint: Sendable, Hashable {
    public var attributes: [KeyValue]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    /// `nil` when neither `asDouble` nor `asInt` is set.
    public var value: NumberValue?
    public var exemplars: [Exemplar]
    public var flags: UInt32

    public init(attributes: [KeyValue] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, value: NumberValue? = nil,
                exemplars: [Exemplar] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.exemplars = exemplars
        self.flags = flags
    }
}

/// `opentelemetry.proto.metrics.v1.HistogramDataPoint`: explicit bucket boundaries.
public struct HistogramDataPoint: Sendable, Hashable {
    public var attributes: [KeyValue]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    /// One more count than `explicitBounds` (the last bucket is above the last bound), or none.
    public var bucketCounts: [UInt64]
    public var explicitBounds: [Double]
    public var exemplars: [Exemplar]
    public var flags: UInt32
    public var min: Double?
    public var max: Double?

    public init(attributes: [KeyValue] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double? = nil, bucketCounts: [UInt64] = [], explicitBounds: [Double] = [], exemplars: [Exemplar] = [],
                flags: UInt32 = 0, min: Double? = nil, max: Double? = nil) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.bucketCounts = bucketCounts
        self.explicitBounds = explicitBounds
        self.exemplars = exemplars
        self.flags = flags
        self.min = min
        self.max = max
    }
}

/// `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint`.
public struct ExponentialHistogramDataPoint: Sendable, Hashable {
    /// `Buckets`: counts of consecutive buckets starting at index `offset`.
    public struct Buckets: Sendable, Hashable {
        public var offset: Int32
        public var bucketCounts: [UInt64]

        public init(offset: Int32 = 0, bucketCounts: [UInt64] = []) {
            self.offset = offset
            self.bucketCounts = bucketCounts
        }
    }

    public var attributes: [KeyValue]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double?
    public var scale: Int32
    public var zeroCount: UInt64
    public var positive: Buckets
    public var negative: Buckets
    public var flags: UInt32
    public var exemplars: [Exemplar]
    public var min: Double?
    public var max: Double?
    public var zeroThreshold: Double

    public init(attributes: [KeyValue] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double? = nil, scale: Int32 = 0, zeroCount: UInt64 = 0, positive: Buckets = .init(), negative: Buckets = .init(),
                flags: UInt32 = 0, exemplars: [Exemplar] = [], min: Double? = nil, max: Double? = nil, zeroThreshold: Double = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.scale = scale
        self.zeroCount = zeroCount
        self.positive = positive
        self.negative = negative
        self.flags = flags
        self.exemplars = exemplars
        self.min = min
        self.max = max
        self.zeroThreshold = zeroThreshold
    }
}

/// `opentelemetry.proto.metrics.v1.SummaryDataPoint`.
public struct SummaryDataPoint: Sendable, Hashable {
    public struct ValueAtQuantile: Sendable, Hashable {
        public var quantile: Double
        public var value: Double

        public init(quantile: Double, value: Double) {
            self.quantile = quantile
            self.value = value
        }
    }

    public var attributes: [KeyValue]
    public var startTimeUnixNano: UInt64
    public var timeUnixNano: UInt64
    public var count: UInt64
    public var sum: Double
    public var quantileValues: [ValueAtQuantile]
    public var flags: UInt32

    public init(attributes: [KeyValue] = [], startTimeUnixNano: UInt64 = 0, timeUnixNano: UInt64 = 0, count: UInt64 = 0,
                sum: Double = 0, quantileValues: [ValueAtQuantile] = [], flags: UInt32 = 0) {
        self.attributes = attributes
        self.startTimeUnixNano = startTimeUnixNano
        self.timeUnixNano = timeUnixNano
        self.count = count
        self.sum = sum
        self.quantileValues = quantileValues
        self.flags = flags
    }
}

/// `opentelemetry.proto.metrics.v1.Exemplar`: one measurement kept with a point, often with
/// the trace it was made in.
public struct Exemplar: Sendable, Hashable {
    public var filteredAttributes: [KeyValue]
    public var timeUnixNano: UInt64
    public var value: NumberValue?
    public var spanId: SpanID?
    public var traceId: TraceID?

    public init(filteredAttributes: [KeyValue] = [], timeUnixNano: UInt64 = 0, value: NumberValue? = nil,
                spanId: SpanID? = nil, traceId: TraceID? = nil) {
        self.filteredAttributes = filteredAttributes
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.spanId = spanId
        self.traceId = traceId
    }
}

/// The checks both decoders apply to a metric once read (the wire rules are theirs).
enum MetricRules {
    /// Why `metric` cannot be stored, with the field's path below the metric, or `nil`.
    static func problem(in metric: Metric) -> (path: String, message: String)? {
        if metric.name.isEmpty { return ("name", "is required") }
        switch metric.data {
        case .histogram(let histogram):
            for (index, point) in histogram.dataPoints.enumerated() {
                let path = "histogram.dataPoints[\(index)]"
                if !point.bucketCounts.isEmpty, point.bucketCounts.count != point.explicitBounds.count + 1 {
                    return (path + ".bucketCounts", "expected \(point.explicitBounds.count + 1) counts (one more than explicitBounds), got \(point.bucketCounts.count)")
                }
                if zip(point.explicitBounds, point.explicitBounds.dropFirst()).contains(where: { !($0 < $1) }) {
                    return (path + ".explicitBounds", "must be strictly increasing")
                }
                if let time = timeProblem(point.startTimeUnixNano, point.timeUnixNano) { return (path + "." + time, "timestamp out of range") }
            }
        case .exponentialHistogram(let histogram):
            for (index, point) in histogram.dataPoints.enumerated() {
                let path = "exponentialHistogram.dataPoints[\(index)]"
                if point.scale < -10 || point.scale > 20 { return (path + ".scale", "must be between -10 and 20, got \(point.scale)") }
                if let time = timeProblem(point.startTimeUnixNano, point.timeUnixNano) { return (path + "." + time, "timestamp out of range") }
            }
        case .gauge(let points):
            for (index, point) in points.enumerated() {
                if let time = timeProblem(point.startTimeUnixNano, point.timeUnixNano) { return ("gauge.dataPoints[\(index)].\(time)", "timestamp out of range") }
            }
        case .sum(let sum):
            for (index, point) in sum.dataPoints.enumerated() {
                if let time = timeProblem(point.startTimeUnixNano, point.timeUnixNano) { return ("sum.dataPoints[\(index)].\(time)", "timestamp out of range") }
            }
        case .summary(let points):
            for (index, point) in points.enumerated() {
                if let time = timeProblem(point.startTimeUnixNano, point.timeUnixNano) { return ("summary.dataPoints[\(index)].\(time)", "timestamp out of range") }
                for (quantileIndex, quantile) in point.quantileValues.enumerated() where !(0...1).contains(quantile.quantile) {
                    return ("summary.dataPoints[\(index)].quantileValues[\(quantileIndex)].quantile", "must be between 0 and 1")
                }
            }
        }
        return nil
    }

    /// The name of the timestamp that does not fit the store's signed 64-bit columns.
    private static func timeProblem(_ start: UInt64, _ time: UInt64) -> String? {
        if start > UInt64(Int64.max) { return "startTimeUnixNano" }
        if time > UInt64(Int64.max) { return "timeUnixNano" }
        return nil
    }
}
