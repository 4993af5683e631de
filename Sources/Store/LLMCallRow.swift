/// One row of `enterprise.llm_call_metrics`: what one GenAI span (`gen_ai.*` attributes,
/// docs/architecture.md) tells about an LLM call, with its cost from the configured price table.
public struct LLMCallRow: Sendable, Hashable {
    public var traceID: String
    /// The span the call came from (migration 013); one row per span.
    public var spanID: String
    /// The span's start.
    public var timestampUnixNano: Int64
    public var model: String
    public var provider: String
    public var promptTokens: Int64?
    public var completionTokens: Int64?
    public var totalTokens: Int64?
    /// The span's duration.
    public var elapsedMs: Double
    public var firstTokenMs: Double?
    public var userEmail: String?
    public var department: String?
    public var costUSD: Double
    public var success: Bool
    public var errorMessage: String?

    public init(traceID: String, spanID: String, timestampUnixNano: Int64, model: String, provider: String,
                promptTokens: Int64?, completionTokens: Int64?, totalTokens: Int64?, elapsedMs: Double,
                firstTokenMs: Double?, userEmail: String?, department: String?, costUSD: Double,
                success: Bool, errorMessage: String?) {
        self.traceID = traceID
        self.spanID = spanID
        self.timestampUnixNano = timestampUnixNano
        self.model = model
        self.provider = provider
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.elapsedMs = elapsedMs
        self.firstTokenMs = firstTokenMs
        self.userEmail = userEmail
        self.department = department
        self.costUSD = costUSD
        self.success = success
        self.errorMessage = errorMessage
    }
}

/// A span's identity in the store: `(trace_id, span_id)` is unique.
struct SpanKey: Hashable {
    var traceID: String
    var spanID: String
}

extension WriteBatch {
    /// The part of this batch a commit added, given the keys of the spans it inserted (a span
    /// already stored, or repeated within the batch, is not inserted again): those spans and
    /// their LLM calls; traces and logs unchanged.
    func keepingInserted(_ inserted: [SpanKey]) -> WriteBatch {
        if inserted.count == spans.count { return self }
        var remaining = Set(inserted)
        var kept = self
        kept.spans = spans.filter { remaining.remove(SpanKey(traceID: $0.traceID, spanID: $0.spanID)) != nil }
        let keptSpans = Set(kept.spans.map { SpanKey(traceID: $0.traceID, spanID: $0.spanID) })
        var seen = Set<SpanKey>()
        kept.llmCalls = llmCalls.filter {
            let key = SpanKey(traceID: $0.traceID, spanID: $0.spanID)
            return keptSpans.contains(key) && seen.insert(key).inserted
        }
        return kept
    }
}

extension TelemetryStore {
    /// For stores that only write (test doubles): everything counts as added.
    public func commit(_ batch: WriteBatch) async throws -> WriteBatch {
        try await write(batch)
        return batch
    }
}
