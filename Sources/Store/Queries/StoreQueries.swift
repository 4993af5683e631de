/// What the rest of Sightline reads from, and changes in, the store, one protocol per concern.
/// Each is implemented for SQLite and PostgreSQL inside Store and covered by the store contract
/// suite on both databases; callers pass typed filters and get typed rows back, and never see
/// SQL, a table name or a dialect (docs/architecture.md).
public struct StoreQueries: Sendable {
    /// Trace lists, one trace with its spans, the trace summary.
    public var traces: any TraceQueries
    /// Log lists and full-text search, one record, records per level.
    public var logs: any LogQueries
    /// Error groups and their occurrences.
    public var errors: any ErrorQueries
    /// The live log stream's reads: records committed since a point, new-record notices.
    public var logFeed: any LogFeedSource
    /// Grafana's Tempo data source: TraceQL searches, tag names and values, a trace for export.
    public var tempo: any TempoQueries
    /// Grafana's Loki data source: LogQL lines and metrics, labels, values, series, statistics.
    public var loki: any LokiQueries
    /// Alert rules, instances and notification attempts; the evaluator's leadership.
    public var alerts: any AlertStore
    /// The built-in alert metric types evaluated over a window.
    public var alertMetrics: any AlertMetricQueries
    /// Deleting expired data, the oldest time kept, the store's size (docs/retention.md).
    public var retention: any RetentionQueries
    /// OTLP metrics: names, series per step, aggregates for alerts, retention's deletes.
    public var metrics: any MetricQueries
    /// The service map: calls between services per minute.
    public var serviceGraph: any ServiceGraphQueries

    public init(traces: any TraceQueries, logs: any LogQueries, errors: any ErrorQueries, logFeed: any LogFeedSource,
                tempo: any TempoQueries, loki: any LokiQueries, alerts: any AlertStore, alertMetrics: any AlertMetricQueries,
                retention: any RetentionQueries, metrics: any MetricQueries,
                serviceGraph: any ServiceGraphQueries = UnsupportedQueries()) {
        self.traces = traces
        self.logs = logs
        self.errors = errors
        self.logFeed = logFeed
        self.tempo = tempo
        self.loki = loki
        self.alerts = alerts
        self.alertMetrics = alertMetrics
        self.retention = retention
        self.metrics = metrics
        self.serviceGraph = serviceGraph
    }

    /// For stores that only write (test doubles): every query fails with `StoreError`.
    public static let unsupported = StoreQueries(
        traces: UnsupportedQueries(), logs: UnsupportedQueries(), errors: UnsupportedQueries(), logFeed: UnsupportedQueries(),
        tempo: UnsupportedQueries(), loki: UnsupportedQueries(), alerts: UnsupportedQueries(), alertMetrics: UnsupportedQueries(),
        retention: UnsupportedQueries(), metrics: UnsupportedQueries())
}

/// Every query protocol, each method failing: the queries of a store that only writes. Each
/// concern's file adds its conformance (`extension UnsupportedQueries: TraceQueries`).
public struct UnsupportedQueries: Sendable {
    public init() {}

    public static var error: StoreError { StoreError(operation: "read", reason: "this store does not support reads") }
}

extension SQLiteStore {
    public var queries: StoreQueries {
        StoreQueries(traces: traceQueries, logs: logQueries, errors: errorQueries, logFeed: logFeedSource, tempo: tempoQueries,
                     loki: lokiQueries, alerts: alertStore, alertMetrics: alertMetricQueries,
                     retention: retentionQueries, metrics: metricQueries, serviceGraph: serviceGraphQueries)
    }
}

extension PostgresStore {
    public var queries: StoreQueries {
        StoreQueries(traces: traceQueries, logs: logQueries, errors: errorQueries, logFeed: logFeedSource, tempo: tempoQueries,
                     loki: lokiQueries, alerts: alertStore, alertMetrics: alertMetricQueries,
                     retention: retentionQueries, metrics: metricQueries, serviceGraph: serviceGraphQueries)
    }
}
