import CoreMetrics
import Prometheus
import Store
import Synchronization

/// Everything `/metrics` shows (docs/metrics.md), in one place per Sightline:
/// - self metrics through swift-metrics (`factory`, handed to the receiver, the writer, the
///   HTTP middleware and the alert engine) over a swift-prometheus registry;
/// - span-derived RED metrics (`spans`) and LLM usage (`llm`), fed by the writer's commits;
/// - the alert engine's families (see `alertEvaluated`, `notificationAttempted`, `setFiringAlerts`).
///
/// Not global: each Sightline (and each test) has its own.
public final class SightlineMetrics: Sendable {
    /// Family names of the self metrics, with their help texts and buckets.
    public enum Name {
        public static let httpRequestDuration = "sightline_http_server_request_duration_seconds"
        public static let writerBatchItems = "sightline_writer_batch_items"
        public static let writerCommitDuration = "sightline_writer_commit_duration_seconds"
        public static let writerQueueItems = "sightline_writer_queue_items"
        public static let writerQueueCapacity = "sightline_writer_queue_capacity_items"
        public static let storeErrors = "sightline_store_errors_total"
        public static let alertEvaluations = "sightline_alert_evaluations_total"
        public static let alertNotifications = "sightline_alert_notifications_total"
        public static let alertsFiring = "sightline_alerts_firing"
    }

    static let families: [String: SightlineMetricsFactory.Family] = [
        "otelcol_receiver_accepted_spans_total": .init(help: "Spans committed to the store by the OTLP receiver."),
        "otelcol_receiver_refused_spans_total": .init(help: "Spans of well-formed requests that were not stored (rejected, or refused while the writer was saturated or the store down)."),
        "otelcol_receiver_accepted_log_records_total": .init(help: "Log records committed to the store by the OTLP receiver."),
        "otelcol_receiver_refused_log_records_total": .init(help: "Log records of well-formed requests that were not stored (rejected, or refused while the writer was saturated or the store down)."),
        Name.httpRequestDuration: .init(help: "Duration of HTTP requests on the OTLP and API ports, by route, method and status code."),
        Name.writerBatchItems: .init(help: "Spans and log records per group commit.",
                                     buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000, 20000, 50000]),
        Name.writerCommitDuration: .init(help: "Duration of group commits (one transaction each) in seconds."),
        Name.writerQueueItems: .init(help: "Spans and log records waiting for a commit."),
        Name.writerQueueCapacity: .init(help: "Spans and log records that may wait for a commit before the receiver answers 503."),
        Name.storeErrors: .init(help: "Store operations that failed, by operation."),
        Name.alertEvaluations: .init(help: "Alert rule evaluations, by rule and outcome."),
        Name.alertNotifications: .init(help: "Alert notification attempts, by channel and outcome."),
    ]

    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory of Sightline's own metrics.
    public let factory: SightlineMetricsFactory
    public let spans: SpanMetrics
    public let llm: LLMMetrics
    /// Tempo's service graph series, counted as spans are committed.
    public let serviceGraph: ServiceGraphMetrics
    /// The retention worker's deletions, the oldest time kept, the store's size.
    public let retention = RetentionMetrics()
    /// The read replica's state (`--read-storage`), set at each scrape.
    public let readStorage = ReadStorageMetrics()
    private let queueItems: Prometheus.Gauge
    private let queueCapacity: Prometheus.Gauge
    private let firing = Mutex<[FiringKey: Int]>([:])

    private struct FiringKey: Hashable, Comparable {
        var rule: String
        var severity: String
        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.rule, lhs.severity) < (rhs.rule, rhs.severity) }
    }

    /// `maxSeries` bounds the label sets of the span and LLM families each.
    public init(maxSeries: Int = 2000) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = SightlineMetricsFactory(registry: registry, families: Self.families)
        self.spans = SpanMetrics(maxSeries: maxSeries)
        self.llm = LLMMetrics(maxSeries: maxSeries)
        self.serviceGraph = ServiceGraphMetrics(maxSeries: maxSeries)
        queueItems = registry.makeGauge(name: Name.writerQueueItems, help: Self.families[Name.writerQueueItems]!.help)
        queueCapacity = registry.makeGauge(name: Name.writerQueueCapacity, help: Self.families[Name.writerQueueCapacity]!.help)
    }

    /// The writer's `afterCommit`: counts the spans and LLM calls a commit added. Quick (one
    /// lock per family per commit, no I/O), so the writer is not held up.
    public func committed(_ batch: WriteBatch) {
        spans.record(batch.spans)
        llm.record(batch.llmCalls)
        serviceGraph.record(batch.spans)
    }

    /// The writer's queue, as the scrape finds it.
    public func setQueue(items: Int, capacity: Int) {
        queueItems.set(Int64(items))
        queueCapacity.set(Int64(capacity))
    }

    // MARK: The alert engine's metrics

    /// One evaluation of `rule` (its name or id); `outcome` is what it found, e.g. `ok`,
    /// `pending`, `firing`, `no_data` or `error`.
    public func alertEvaluated(rule: String, outcome: String) {
        Counter(label: Name.alertEvaluations, dimensions: [("rule", rule), ("outcome", outcome)], factory: factory).increment()
    }

    /// One notification attempt on `channel` (`slack`, `webhook`, `email`, `alertmanager`);
    /// `outcome` e.g. `sent`, `failed` or `retried`.
    public func notificationAttempted(channel: String, outcome: String) {
        Counter(label: Name.alertNotifications, dimensions: [("channel", channel), ("outcome", outcome)], factory: factory).increment()
    }

    /// The firing alerts now, replacing what was set before (rules not listed disappear).
    public func setFiringAlerts(_ alerts: [(rule: String, severity: String, count: Int)]) {
        var counts: [FiringKey: Int] = [:]
        for alert in alerts { counts[FiringKey(rule: alert.rule, severity: alert.severity), default: 0] += alert.count }
        firing.withLock { $0 = counts }
    }

    // MARK: Exposition

    /// The whole exposition, Prometheus text format 0.0.4.
    public func render() -> String {
        var text = registry.emitToString()
        var writer = PrometheusTextWriter()
        spans.write(into: &writer)
        llm.write(into: &writer)
        serviceGraph.write(into: &writer)
        let firing = firing.withLock { $0 }.sorted { $0.key < $1.key }
        writer.family(Name.alertsFiring, type: .gauge, help: "Alert instances firing now, by rule and severity.")
        for (key, count) in firing {
            writer.sample(Name.alertsFiring, labels: [("rule", key.rule), ("severity", key.severity)], value: Int64(count))
        }
        retention.write(into: &writer)
        readStorage.write(into: &writer)
        text += writer.text
        return text
    }
}
