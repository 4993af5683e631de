/// One metric series (`enterprise.metric_series`): a metric's identity, stored once under
/// `seriesID`, a hash of that identity (see `MetricSeriesRow+OTLP` in Ingest).
public struct MetricSeriesRow: Sendable, Hashable {
    public var seriesID: String
    public var name: String
    public var description: String
    public var unit: String
    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    public var type: String
    /// `delta`, `cumulative`, or empty (gauges, summaries).
    public var temporality: String
    public var monotonic: Bool
    public var serviceName: String
    /// The resource attributes as a flat JSON object.
    public var resource: String
    /// The instrumentation scope's name.
    public var scope: String
    /// The data point attributes as a flat JSON object.
    public var attributes: String
    /// The latest point time seen for the series.
    public var lastSeenUnixNano: Int64

    public init(seriesID: String, name: String, description: String, unit: String, type: String, temporality: String,
                monotonic: Bool, serviceName: String, resource: String, scope: String, attributes: String, lastSeenUnixNano: Int64) {
        self.seriesID = seriesID
        self.name = name
        self.description = description
        self.unit = unit
        self.type = type
        self.temporality = temporality
        self.monotonic = monotonic
        self.serviceName = serviceName
        self.resource = resource
        self.scope = scope
        self.attributes = attributes
        self.lastSeenUnixNano = lastSeenUnixNano
    }

    /// One row per series (the latest `lastSeenUnixNano`), sorted by id: a statement may
    /// touch each row once, and concurrent commits lock rows in one order.
    static func merging(_ rows: [MetricSeriesRow]) -> [MetricSeriesRow] {
        var byID: [String: MetricSeriesRow] = [:]
        for row in rows {
            if let seen = byID[row.seriesID], seen.lastSeenUnixNano >= row.lastSeenUnixNano { continue }
            byID[row.seriesID] = row
        }
        return byID.values.sorted { $0.seriesID < $1.seriesID }
    }
}

/// One data point (`enterprise.metric_points`) of a series.
public struct MetricPointRow: Sendable, Hashable {
    public var seriesID: String
    public var timeUnixNano: Int64
    public var startTimeUnixNano: Int64
    /// A gauge's or sum's value; `nil` for histograms and summaries, and for a point with
    /// no recorded value.
    public var value: Double?
    public var count: Int64?
    public var sum: Double?
    public var min: Double?
    public var max: Double?
    /// Histogram buckets, exponential buckets or summary quantiles, as JSON.
    public var buckets: String?
    /// The exemplars as a JSON array, `nil` when there are none.
    public var exemplars: String?
    public var flags: Int64

    public init(seriesID: String, timeUnixNano: Int64, startTimeUnixNano: Int64, value: Double? = nil, count: Int64? = nil,
                sum: Double? = nil, min: Double? = nil, max: Double? = nil, buckets: String? = nil, exemplars: String? = nil, flags: Int64 = 0) {
        self.seriesID = seriesID
        self.timeUnixNano = timeUnixNano
        self.startTimeUnixNano = startTimeUnixNano
        self.value = value
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.buckets = buckets
        self.exemplars = exemplars
        self.flags = flags
    }
}

/// A host or process reading (`enterprise.system_metrics`), derived from the OTel host and
/// process metrics so the built-in `memory_percent` alert has data.
public struct SystemMetricRow: Sendable, Hashable {
    public var timestampUnixNano: Int64
    /// `cpu`, `memory`, `disk` or `connections`.
    public var metricType: String
    public var metricName: String
    public var value: Double
    /// `percent`, `bytes`, `count` or `ms`.
    public var unit: String
    /// Flat JSON object: the service and the point's attributes.
    public var tags: String

    public init(timestampUnixNano: Int64, metricType: String, metricName: String, value: Double, unit: String, tags: String) {
        self.timestampUnixNano = timestampUnixNano
        self.metricType = metricType
        self.metricName = metricName
        self.value = value
        self.unit = unit
        self.tags = tags
    }
}
