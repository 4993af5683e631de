/// Reads of the OTLP metrics (`enterprise.metric_series`, `enterprise.metric_points`): the
/// metric names, a metric's series aggregated per step, one aggregate over a window for the
/// `metric` alert type, and retention's bounded deletes.
public protocol MetricQueries: Sendable {
    /// The metric names with a point since `sinceUnixNano`, by name, at most `limit`.
    func metricNames(sinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricNameRecord]

    /// The series of `filter.name` with points in the window, each with its points grouped
    /// into steps of `stepNanoseconds`, at most `limit` (series × steps) rows.
    func series(_ filter: MetricSeriesFilter, stepNanoseconds: Int64, limit: Int) async throws(StoreError) -> [MetricStepRecord]

    /// `aggregation` over every point of the matching series in the window; `nil` without points.
    func aggregate(_ aggregation: MetricAggregation, of filter: MetricSeriesFilter) async throws(StoreError) -> Double?

    /// Every series seen since `seenSinceUnixNano` (at most `limit`, by name) with its latest
    /// point and, for delta series, the totals of every stored point: what `/metrics/otlp`
    /// exposes.
    func exposition(seenSinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricExpositionRecord]

    /// Deletes at most `limit` points older than `beforeUnixNano` (and, once those are gone,
    /// at most `limit` series last seen before it). Returns how many rows were deleted: the
    /// caller repeats until it gets 0, so each statement stays short.
    func deleteMetrics(beforeUnixNano: Int64, limit: Int) async throws(StoreError) -> Int
}

/// One metric name, as `GET /api/observability/metrics` lists it.
public struct MetricNameRecord: Sendable, Hashable, Codable {
    public var name: String
    public var type: String
    public var unit: String
    public var description: String
    public var seriesCount: Int64

    public init(name: String, type: String, unit: String, description: String, seriesCount: Int64) {
        self.name = name
        self.type = type
        self.unit = unit
        self.description = description
        self.seriesCount = seriesCount
    }
}

/// Which series: a metric name, a window, and attributes each series must carry.
public struct MetricSeriesFilter: Sendable, Hashable {
    public var name: String
    /// The start (exclusive) and the end (inclusive), in Unix nanoseconds.
    public var sinceUnixNano: Int64
    public var untilUnixNano: Int64
    /// Point attributes (or, failing those, resource attributes) that must equal these values.
    public var attributes: [String: String]
    public var serviceName: String?

    public init(name: String, sinceUnixNano: Int64, untilUnixNano: Int64, attributes: [String: String] = [:], serviceName: String? = nil) {
        self.name = name
        self.sinceUnixNano = sinceUnixNano
        self.untilUnixNano = untilUnixNano
        self.attributes = attributes
        self.serviceName = serviceName
    }
}

/// One step of one series: its points' values aggregated.
public struct MetricStepRecord: Sendable, Hashable {
    public var seriesID: String
    /// The series' point attributes, a flat JSON object.
    public var attributes: String
    public var serviceName: String
    /// The step's start, in Unix nanoseconds.
    public var stepUnixNano: Int64
    public var points: Int64
    /// Gauges and sums: the average, minimum and maximum value of the step's points.
    public var average: Double?
    public var minimum: Double?
    public var maximum: Double?
    /// Histograms and summaries: the step's count and sum (the latest of a cumulative series,
    /// the points' total for a delta one).
    public var count: Double?
    public var sum: Double?

    public init(seriesID: String, attributes: String, serviceName: String, stepUnixNano: Int64, points: Int64, average: Double?,
                minimum: Double?, maximum: Double?, count: Double?, sum: Double?) {
        self.seriesID = seriesID
        self.attributes = attributes
        self.serviceName = serviceName
        self.stepUnixNano = stepUnixNano
        self.points = points
        self.average = average
        self.minimum = minimum
        self.maximum = maximum
        self.count = count
        self.sum = sum
    }
}

/// A series and its latest point, for the Prometheus exposition.
public struct MetricExpositionRecord: Sendable, Hashable {
    public var name: String
    public var description: String
    public var unit: String
    public var type: String
    public var temporality: String
    public var monotonic: Bool
    /// Flat JSON objects.
    public var resource: String
    public var attributes: String
    public var timeUnixNano: Int64
    public var value: Double?
    public var count: Double?
    public var sum: Double?
    public var buckets: String?
    /// Delta series: the sums of `value`, `count` and `sum` over every stored point, and each
    /// point's `buckets` (histograms), oldest first.
    public var deltaValue: Double?
    public var deltaCount: Double?
    public var deltaSum: Double?
    public var deltaBuckets: [String]

    public init(name: String, description: String, unit: String, type: String, temporality: String, monotonic: Bool,
                resource: String, attributes: String, timeUnixNano: Int64, value: Double?, count: Double?, sum: Double?,
                buckets: String?, deltaValue: Double? = nil, deltaCount: Double? = nil, deltaSum: Double? = nil, deltaBuckets: [String] = []) {
        self.name = name
        self.description = description
        self.unit = unit
        self.type = type
        self.temporality = temporality
        self.monotonic = monotonic
        self.resource = resource
        self.attributes = attributes
        self.timeUnixNano = timeUnixNano
        self.value = value
        self.count = count
        self.sum = sum
        self.buckets = buckets
        self.deltaValue = deltaValue
        self.deltaCount = deltaCount
        self.deltaSum = deltaSum
        self.deltaBuckets = deltaBuckets
    }
}

/// How the `metric` alert type reduces a window's points to one value.
public enum MetricAggregation: String, Sendable, CaseIterable {
    /// The average value (gauges, sums); for histograms the mean observation (sum / count).
    case avg
    /// The largest value; for histograms the largest `max`.
    case max
    /// Growth per second of a cumulative sum (latest minus earliest value per series, summed,
    /// over the window's seconds); for delta sums the summed values over the window's seconds.
    case rate
    /// The 95th percentile: of the values (gauges, sums), or of the observations estimated from
    /// histogram buckets.
    case p95
}

extension UnsupportedQueries: MetricQueries {
    public func metricNames(sinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricNameRecord] { throw Self.error }
    public func series(_ filter: MetricSeriesFilter, stepNanoseconds: Int64, limit: Int) async throws(StoreError) -> [MetricStepRecord] {
        throw Self.error
    }
    public func aggregate(_ aggregation: MetricAggregation, of filter: MetricSeriesFilter) async throws(StoreError) -> Double? { throw Self.error }
    public func deleteMetrics(beforeUnixNano: Int64, limit: Int) async throws(StoreError) -> Int { throw Self.error }
    public func exposition(seenSinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricExpositionRecord] { throw Self.error }
}
