import Logging
import ServiceLifecycle
import Store

/// Counters that do not start from zero after a restart: at start-up the span and LLM
/// families are rebuilt from what the store holds (one aggregate query over
/// `trace_spans` and one over `llm_call_metrics`, the same on SQLite and PostgreSQL), and
/// only then does the writer start committing, so no commit is counted twice or missed.
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

    /// Reads the store's totals into `metrics`. Errors leave the counters as they are.
    public func run() async throws {
        let spanRows = try await store.read(Self.spanQuery(store.dialect))
        let llmRows = try await store.read(Self.llmQuery())
        for row in spanRows {
            let key = SpanMetrics.Key(serviceName: row["service_name"].text ?? "", spanName: row["operation_name"].text ?? "",
                                      kind: Int32(row["span_kind"].int ?? 0), statusCode: Int32(row["status_code"].int ?? 0))
            metrics.spans.add(key, calls: row["calls"].int ?? 0, bucket: Int(row["bucket"].int ?? 0),
                              sumMs: (row["duration_ns"].double ?? 0) / 1_000_000)
        }
        for row in llmRows {
            metrics.llm.add(LLMMetrics.Key(model: row["model"].text ?? "", provider: row["provider"].text ?? ""),
                            LLMMetrics.Totals(calls: row["calls"].int ?? 0, inputTokens: row["input_tokens"].int ?? 0,
                                              outputTokens: row["output_tokens"].int ?? 0, costUSD: row["cost_usd"].double ?? 0))
        }
        logger.info("span metrics rebuilt from the store", metadata: [
            "metrics.span_rows": "\(spanRows.count)", "metrics.llm_rows": "\(llmRows.count)",
        ])
    }

    /// Spans per label set and bucket (sums cast to a float: PostgreSQL's `numeric` is not
    /// what the read path decodes); the busiest label sets first, so they get the bounded
    /// series and the rest overflows. Buckets compare whole nanoseconds, like `SpanMetrics.record`.
    static func spanQuery(_ dialect: SQLDialect) -> ReadQuery {
        var builder = SQLBuilder(dialect)
        let duration = "(end_time_unix_nano - start_time_unix_nano)"
        var cases = ""
        for (index, bound) in SpanMetrics.bucketsNs.enumerated() {
            cases += " WHEN \(duration) <= \(builder.bind(bound)) THEN \(index)"
        }
        let sql = """
            SELECT service_name, operation_name, span_kind, status_code, bucket, count(*) AS calls,
                CAST(sum(duration_ns) AS DOUBLE PRECISION) AS duration_ns,
                CAST(sum(count(*)) OVER (PARTITION BY service_name, operation_name, span_kind, status_code) AS BIGINT) AS series_calls
            FROM (SELECT service_name, operation_name, span_kind, status_code, \(duration) AS duration_ns,
                         CASE\(cases) ELSE \(SpanMetrics.bucketsNs.count) END AS bucket
                  FROM enterprise.trace_spans
                  WHERE end_time_unix_nano IS NOT NULL AND start_time_unix_nano IS NOT NULL) AS spans
            GROUP BY service_name, operation_name, span_kind, status_code, bucket
            ORDER BY series_calls DESC, service_name, operation_name, span_kind, status_code, bucket
            """
        return builder.query(sql)
    }

    static func llmQuery() -> ReadQuery {
        ReadQuery(sql: """
            SELECT model, provider, count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS input_tokens,
                coalesce(sum(completion_tokens), 0) AS output_tokens,
                CAST(coalesce(sum(cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd
            FROM enterprise.llm_call_metrics
            GROUP BY model, provider
            ORDER BY count(*) DESC, model, provider
            """)
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
