import Foundation
import Store

/// Computes a rule's metric over its window: the built-in types through the store's
/// `AlertMetricQueries`, `metric` through its `MetricQueries.aggregate`, `custom_sql` through
/// its `RuleQueryRunner` (docs/alerting.md).
public struct AlertMetrics: Sendable {
    let database: AlertDatabase
    /// Limit for one `custom_sql` evaluation.
    let customSQLTimeout: Duration
    /// How long a `custom_sql` evaluation waits for a free slot: evaluations wait (30 s, for
    /// `evaluationSlotWait`), previews do not (`.zero`: `RuleQueryError.busy` at once).
    let customSQLWait: Duration

    /// Evaluations queue behind the few `custom_sql` statements allowed at once, for this long.
    public static let evaluationSlotWait: Duration = .seconds(30)

    public init(database: AlertDatabase, customSQLTimeout: Duration = .seconds(5), customSQLWait: Duration = evaluationSlotWait) {
        self.database = database
        self.customSQLTimeout = customSQLTimeout
        self.customSQLWait = customSQLWait
    }

    /// The rule's value at `now`, or `nil` for "no data".
    public func value(of rule: AlertRule, at now: Date) async throws -> Double? {
        if let query = rule.metricQuery {
            let window = AlertMetricWindow(minutes: rule.windowMinutes, endingAt: now)
            let filter = MetricSeriesFilter(name: query.name, sinceUnixNano: window.sinceUnixNano, untilUnixNano: window.untilUnixNano,
                                            attributes: query.attributes, serviceName: rule.serviceName)
            return try await database.metricSeries.aggregate(query.aggregation, of: filter)
        }
        guard let metric = rule.metricType.builtIn else {
            guard let sql = rule.customSQL else { return nil }
            return try await database.runCustomSQL(sql, timeout: customSQLTimeout, waitingAtMost: customSQLWait)
        }
        let window = AlertMetricWindow(minutes: rule.windowMinutes, endingAt: now, serviceName: rule.serviceName,
                                       operationName: rule.operationName)
        return try await database.metricQueries.value(of: metric, over: window)
    }
}

extension MetricType {
    /// The store's built-in metric of this type; `nil` for `custom_sql` and `metric`.
    var builtIn: AlertMetric? {
        switch self {
        case .errorCount: .errorCount
        case .errorRate: .errorRate
        case .latencyP95: .latencyP95
        case .latencyP99: .latencyP99
        case .ragLatencyP95: .ragLatencyP95
        case .logCount: .logCount
        case .llmCostHourly: .llmCostHourly
        case .llmTokens: .llmTokens
        case .cacheHitRate: .cacheHitRate
        case .memoryPercent: .memoryPercent
        case .customSQL, .metric: nil
        }
    }
}
