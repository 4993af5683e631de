/// Trace lists, one trace with its spans, the trace summary (the query API's `/traces`,
/// docs/api.md). Times are Unix nanoseconds; a window starts after `since` (exclusive).
public protocol TraceQueries: Sendable {
    /// The page of the traces `filter` selects, newest first (then by trace id), `offset` traces
    /// in and at most `limit` long, and how many it selects, counted up to `countLimit`.
    func traceList(_ filter: TraceFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> TraceListPage

    /// The trace `id` (32 lower-case hex digits) with its spans in start order (then by span
    /// id); nil when it is not stored.
    func trace(id: String) async throws(StoreError) -> TraceDetail?

    /// The traces started after `since` (of `service`, when given): totals, duration
    /// percentiles, and the span totals of every operation.
    func traceSummary(since: Int64, service: String?) async throws(StoreError) -> TraceSummary

    /// The traces `filter` selects (every field but `since` and `until`: the window is `steps`'), step by
    /// step: one `TraceStepTotals` per step, in order, zero for steps without a trace.
    func traceTimeseries(_ filter: TraceFilter, steps: TimeSteps) async throws(StoreError) -> [TraceStepTotals]

    /// The LLM calls of GenAI spans (`llm_call_metrics`) started in the window of `steps`, per
    /// step, provider and model (steps without a call left out), by step, provider, model.
    func llmUsage(steps: TimeSteps) async throws(StoreError) -> [LLMUsageRecord]
}

/// The LLM calls of one model in one step: how many, how many failed, tokens and cost.
public struct LLMUsageRecord: Sendable, Equatable {
    public var step: Int
    public var provider: String
    public var model: String
    public var calls: Int64
    public var failed: Int64
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var totalTokens: Int64
    public var costUSD: Double

    public init(step: Int, provider: String, model: String, calls: Int64, failed: Int64, promptTokens: Int64,
                completionTokens: Int64, totalTokens: Int64, costUSD: Double) {
        self.step = step
        self.provider = provider
        self.model = model
        self.calls = calls
        self.failed = failed
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.costUSD = costUSD
    }
}

/// Which traces a list holds: those started after `since` (and before `until`, when given)
/// that match every field given.
public struct TraceFilter: Sendable, Equatable {
    public var since: Int64
    /// The window's end (exclusive), for a range chosen on a chart; nil for "until now".
    public var until: Int64?
    /// `in_progress`, `completed` or `error`.
    public var status: String?
    public var service: String?
    /// A span of the trace has this operation name.
    public var operation: String?
    public var userEmail: String?
    public var minDurationMs: Double?

    public init(since: Int64, until: Int64? = nil, status: String? = nil, service: String? = nil, operation: String? = nil,
                userEmail: String? = nil, minDurationMs: Double? = nil) {
        self.since = since
        self.until = until
        self.status = status
        self.service = service
        self.operation = operation
        self.userEmail = userEmail
        self.minDurationMs = minDurationMs
    }
}

/// One page of a trace list and the list's capped count.
public struct TraceListPage: Sendable, Equatable {
    public var traces: [TraceListItem]
    public var total: CappedCount
}

/// One trace as stored and its spans in start order.
public struct TraceDetail: Sendable, Equatable {
    public var trace: TraceRecord
    public var spans: [SpanRecord]
}

/// The trace summary's figures over a window.
public struct TraceSummary: Sendable, Equatable {
    public var total: Int64
    public var completed: Int64
    public var errors: Int64
    /// The average duration of the traces that have one; nil when none has.
    public var averageMs: Double?
    /// Duration percentiles of the traces that have a duration (linear interpolation, as
    /// PostgreSQL's `percentile_cont`); nil when none has.
    public var percentiles: DurationPercentiles?
    /// Every operation's spans started in the window, in no particular order.
    public var operations: [OperationTotals]
}

public struct DurationPercentiles: Sendable, Equatable {
    public var p50: Double
    public var p95: Double
    public var p99: Double

    public init(p50: Double, p95: Double, p99: Double) {
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
    }
}

/// The spans of one operation (all services together) in a window.
public struct OperationTotals: Sendable, Equatable {
    public var name: String
    public var calls: Int64
    public var totalMs: Double
    public var maxMs: Double

    public init(name: String, calls: Int64 = 0, totalMs: Double = 0, maxMs: Double = 0) {
        self.name = name
        self.calls = calls
        self.totalMs = totalMs
        self.maxMs = maxMs
    }
}

extension UnsupportedQueries: TraceQueries {
    public func traceList(_ filter: TraceFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> TraceListPage {
        throw Self.error
    }

    public func trace(id: String) async throws(StoreError) -> TraceDetail? { throw Self.error }

    public func traceSummary(since: Int64, service: String?) async throws(StoreError) -> TraceSummary { throw Self.error }

    public func traceTimeseries(_ filter: TraceFilter, steps: TimeSteps) async throws(StoreError) -> [TraceStepTotals] {
        throw Self.error
    }

    public func llmUsage(steps: TimeSteps) async throws(StoreError) -> [LLMUsageRecord] { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var traceQueries: any TraceQueries { SQLTraceQueries(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it), on the read replica if any.
    var traceQueries: any TraceQueries { SQLTraceQueries(reads: StoreReads(replicaOf: self)) }
}
