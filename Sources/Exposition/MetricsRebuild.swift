import Logging
import ServiceLifecycle
import Store

/// Counters that do not start from zero after a restart: at start-up the span and LLM
/// families are rebuilt from what the store holds (its `SpanMetricsSource`: one aggregate over
/// the stored spans and one over the LLM calls), and only then does the writer start
/// committing, so no commit is counted twice or missed.
///
/// Rebuilding from the store rather than persisting counters costs one scan at start-up and
/// nothing per commit, and the counters equal what the store holds: spans deleted by
/// retention leave the next restart's counters lower, which Prometheus reads as a counter reset.
public struct MetricsRebuild: Sendable {
    let metrics: SightlineMetrics
    let store: any TelemetryStore
    let logger: Logger

    public init(metrics: SightlineMetrics, store: any TelemetryStore, logger: Logger) {
        self.metrics = metrics
        self.store = store
        self.logger = logger
    }

    /// Reads the store's totals into `metrics`. Errors leave the counters as they are. The
    /// busiest label sets come first, so they get the bounded series and the rest overflows;
    /// buckets compare whole nanoseconds, like `SpanMetrics.record`.
    public func run() async throws {
        let source = store.queries.spanMetrics
        let spanRows = try await source.spanTotals(bucketBoundsNanos: SpanMetrics.bucketsNs)
        let llmRows = try await source.llmTotals()
        for row in spanRows {
            let key = SpanMetrics.Key(serviceName: row.serviceName, spanName: row.operationName, kind: row.spanKind, statusCode: row.statusCode)
            metrics.spans.add(key, calls: row.calls, bucket: row.bucket, sumMs: row.durationNanos / 1_000_000)
        }
        for row in llmRows {
            metrics.llm.add(LLMMetrics.Key(model: row.model, provider: row.provider),
                            LLMMetrics.Totals(calls: row.calls, inputTokens: row.inputTokens, outputTokens: row.outputTokens, costUSD: row.costUSD))
        }
        logger.info("span metrics rebuilt from the store", metadata: [
            "metrics.span_rows": "\(spanRows.count)", "metrics.llm_rows": "\(llmRows.count)",
        ])
    }
}

/// Runs the start-up rebuild, then `writer` (the batch writer): commits wait for the rebuild,
/// while the receiver already accepts into its bounded queue. A failed rebuild is logged and
/// the counters start from zero. Shutdown during the rebuild abandons it.
public struct RebuildThenRun: Service {
    let rebuild: MetricsRebuild
    let service: any Service

    public init(_ rebuild: MetricsRebuild, then service: any Service) {
        self.rebuild = rebuild
        self.service = service
    }

    /// Attempts and the pause between them: the store's pool starts alongside (PostgreSQL
    /// may refuse the first read), so a few seconds of retries, then give up.
    static let attempts = 20
    static let pause = Duration.milliseconds(250)

    public func run() async throws {
        var lastError: (any Error)?
        for attempt in 1...Self.attempts {
            do {
                try await cancelWhenGracefulShutdown { try await rebuild.run() }
                lastError = nil
                break
            } catch {
                lastError = error
                // A scan stopped at the read time limit would only be stopped again.
                if case .timeLimitExceeded? = (error as? StoreError)?.kind { break }
                if Task.isCancelled || Task.isShuttingDownGracefully || attempt == Self.attempts { break }
                try? await Task.sleep(for: Self.pause)
            }
        }
        rebuild.metrics.markRebuilt()
        if let lastError {
            rebuild.logger.warning("span metrics not rebuilt from the store; counting from zero", metadata: [
                "error": "\((lastError as? StoreError)?.reason ?? "\(lastError)")",
            ])
        }
        try await service.run()
    }
}
