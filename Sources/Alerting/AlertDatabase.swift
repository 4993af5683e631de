import Logging
import Store

/// The alert engine's access to the store: its alert tables and leadership (`AlertStore`),
/// the built-in metrics (`AlertMetricQueries`), OTLP metrics (`MetricQueries`), and rules' own
/// SQL (`custom_sql`) through the store's `RuleQueryRunner`, which runs it where the database
/// limits it (docs/security-customsql.md).
public final class AlertDatabase: Sendable {
    /// Rules, instances, notification attempts; the evaluator's leadership.
    public let alerts: any AlertStore
    /// The built-in metric types over a window.
    public let metricQueries: any AlertMetricQueries
    /// Ingested OTLP metrics, for the `metric` type.
    public let metricSeries: any MetricQueries
    /// Rules' own SQL, at most a few statements at once (previews and evaluations together).
    private let ruleQueries: any RuleQueryRunner
    let logger: Logger

    /// Opens what `store` needs (the rule runner's connections), with at most
    /// `customSQLConcurrency` `custom_sql` statements at once. When the store cannot run
    /// `custom_sql` (PostgreSQL without a rules role), says so once, here.
    public static func open(store: any TelemetryStore, customSQLConcurrency: Int = 2, logger: Logger) async throws -> AlertDatabase {
        let ruleQueries = await store.ruleQueryRunner(maxConcurrent: customSQLConcurrency)
        if let reason = ruleQueries.unavailableReason {
            logger.warning("custom_sql rules are refused: \(reason)")
        }
        return AlertDatabase(alerts: store.queries.alerts, metricQueries: store.queries.alertMetrics,
                             metricSeries: store.queries.metrics, ruleQueries: ruleQueries, logger: logger)
    }

    private init(alerts: any AlertStore, metricQueries: any AlertMetricQueries, metricSeries: any MetricQueries,
                 ruleQueries: any RuleQueryRunner, logger: Logger) {
        self.alerts = alerts
        self.metricQueries = metricQueries
        self.metricSeries = metricSeries
        self.ruleQueries = ruleQueries
        self.logger = logger
    }

    public func close() async {
        await ruleQueries.close()
    }

    /// The store's choice of the one evaluator (see `AlertStore.acquireEvaluatorRole`).
    public var leadership: any EvaluatorLeadership { StoreLeadership(alerts: alerts) }

    // MARK: custom_sql

    /// Checks a `custom_sql` query without running it: the pre-check's friendly refusals, then
    /// the store compiles it as the rule would run (one read-only statement, one column, only
    /// what rules may read). Waits at most `wait` for a free slot.
    public func checkCustomSQL(_ sql: String, waitingAtMost wait: Duration = .zero) async throws(RuleQueryError) {
        if let problem = CustomSQLPrecheck.problem(in: sql) { throw .refused(problem) }
        try await ruleQueries.check(CustomSQLPrecheck.statement(sql), waitingAtMost: wait)
    }

    /// Runs a `custom_sql` query, cut off after `timeout`; its first column of its first row as
    /// a number (`nil`: no row or NULL). Waits at most `wait` for a free slot.
    public func runCustomSQL(_ sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double? {
        if let problem = CustomSQLPrecheck.problem(in: sql) { throw .refused(problem) }
        return try await ruleQueries.value(of: CustomSQLPrecheck.statement(sql), timeout: timeout, waitingAtMost: wait)
    }
}

/// The evaluator role as the store decides it.
struct StoreLeadership: EvaluatorLeadership {
    let alerts: any AlertStore

    func acquire() async -> Bool { await alerts.acquireEvaluatorRole() }
    func release() async { await alerts.releaseEvaluatorRole() }
}

import ServiceLifecycle

/// As a service, the database stays open until graceful shutdown (started after the store,
/// stopped before it), then closes its own connections.
extension AlertDatabase: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
