import Foundation

/// The built-in alert metric types, evaluated over a window (docs/alerting.md). A rule's own
/// SQL (`custom_sql`) is not one of them: it runs through `RuleQueryRunner`.
public protocol AlertMetricQueries: Sendable {
    /// `metric` over `window`, or `nil` for "no data" (no spans for a rate or a percentile, no
    /// cache lookups, no host memory readings). A read stopped at the store's time limit
    /// fails with `StoreError.Kind.timeLimitExceeded`.
    func value(of metric: AlertMetric, over window: AlertMetricWindow) async throws(StoreError) -> Double?
}

/// A built-in metric type: every rule `metric_type` but `custom_sql`.
public enum AlertMetric: Sendable, CaseIterable {
    /// Failed spans plus ERROR and CRITICAL log records.
    case errorCount
    /// Failed spans as a percentage (0–100) of all spans.
    case errorRate
    /// The 95th and 99th percentile of span duration in milliseconds, interpolated between the
    /// two nearest ranks like PostgreSQL's `percentile_cont`.
    case latencyP95, latencyP99
    /// `latencyP95` over spans whose operation name contains "rag" (any case), unless the
    /// window names an operation.
    case ragLatencyP95
    /// Log records.
    case logCount
    /// USD spent on LLM calls.
    case llmCostHourly
    /// Tokens used by LLM calls.
    case llmTokens
    /// Cache hits as a percentage of lookups.
    case cacheHitRate
    /// Host memory use in percent: the average of the window's `memory_percent` readings in
    /// `enterprise.system_metrics` (filled from OTLP `system.memory.utilization`).
    case memoryPercent
}

/// The window a metric is measured over, and the rule's scope.
public struct AlertMetricWindow: Sendable, Equatable {
    /// The start (exclusive) and the end (inclusive), in Unix nanoseconds.
    public var sinceUnixNano: Int64
    public var untilUnixNano: Int64
    /// Narrows span and log metrics to one service; the LLM and cache metrics have no service.
    public var serviceName: String?
    /// Narrows span metrics to one operation.
    public var operationName: String?

    public init(sinceUnixNano: Int64, untilUnixNano: Int64, serviceName: String? = nil, operationName: String? = nil) {
        self.sinceUnixNano = sinceUnixNano
        self.untilUnixNano = untilUnixNano
        self.serviceName = serviceName
        self.operationName = operationName
    }

    /// The `minutes` up to `end`.
    public init(minutes: Int, endingAt end: Date, serviceName: String? = nil, operationName: String? = nil) {
        self.init(sinceUnixNano: Int64((end.timeIntervalSince1970 - Double(minutes) * 60) * 1e9),
                  untilUnixNano: Int64(end.timeIntervalSince1970 * 1e9), serviceName: serviceName, operationName: operationName)
    }
}

extension UnsupportedQueries: AlertMetricQueries {
    public func value(of metric: AlertMetric, over window: AlertMetricWindow) async throws(StoreError) -> Double? { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var alertMetricQueries: any AlertMetricQueries {
        SQLAlertMetricQueries(dialect: .sqlite, read: { [self] query in try await read(query) })
    }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it), on the read replica if any.
    var alertMetricQueries: any AlertMetricQueries {
        SQLAlertMetricQueries(dialect: .postgres, read: { [self] query in try await replicaRead(query) })
    }
}
