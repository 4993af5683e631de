import Store
import Synchronization

/// LLM usage from GenAI spans (the rows of `llm_call_metrics` commits add), per model and
/// provider: `sightline_llm_calls_total`, `sightline_llm_tokens_total` (`type="input"` or
/// `"output"`) and `sightline_llm_cost_usd_total`. Bounded like `SpanMetrics`.
public final class LLMMetrics: Sendable {
    public static let callsName = "sightline_llm_calls_total"
    public static let tokensName = "sightline_llm_tokens_total"
    public static let costName = "sightline_llm_cost_usd_total"

    public struct Key: Hashable, Sendable, Comparable {
        public var model: String
        public var provider: String

        public init(model: String, provider: String) {
            self.model = model
            self.provider = provider
        }

        public static func < (lhs: Key, rhs: Key) -> Bool { (lhs.model, lhs.provider) < (rhs.model, rhs.provider) }
    }

    public struct Totals: Sendable, Equatable {
        public var calls: Int64 = 0
        public var inputTokens: Int64 = 0
        public var outputTokens: Int64 = 0
        public var costUSD: Double = 0

        public init(calls: Int64 = 0, inputTokens: Int64 = 0, outputTokens: Int64 = 0, costUSD: Double = 0) {
            self.calls = calls
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.costUSD = costUSD
        }

        mutating func add(_ other: Totals) {
            calls += other.calls
            inputTokens += other.inputTokens
            outputTokens += other.outputTokens
            costUSD += other.costUSD
        }
    }

    struct State {
        var totals: [Key: Totals] = [:]
        var overflow = Totals()
    }

    public let maxSeries: Int
    private let state = Mutex(State())

    public init(maxSeries: Int) {
        precondition(maxSeries > 0)
        self.maxSeries = maxSeries
    }

    /// Counts committed LLM calls.
    public func record(_ calls: [LLMCallRow]) {
        for call in calls {
            add(Key(model: call.model, provider: call.provider),
                Totals(calls: 1, inputTokens: call.promptTokens ?? 0, outputTokens: call.completionTokens ?? 0, costUSD: call.costUSD))
        }
    }

    /// Adds the totals of `key`'s calls (a new label set past the bound goes to the overflow).
    public func add(_ key: Key, _ totals: Totals) {
        state.withLock { state in
            if state.totals[key] == nil, state.totals.count >= maxSeries {
                state.overflow.add(totals)
            } else {
                state.totals[key, default: Totals()].add(totals)
            }
        }
    }

    public var snapshot: (totals: [Key: Totals], overflow: Totals) {
        state.withLock { ($0.totals, $0.overflow) }
    }

    public func write(into writer: inout PrometheusTextWriter) {
        let (totals, overflow) = snapshot
        var ordered = totals.sorted { $0.key < $1.key }.map { (labels: [("model", $0.key.model), ("provider", $0.key.provider)], totals: $0.value) }
        if overflow.calls > 0 { ordered.append((labels: [("otel_metric_overflow", "true")], totals: overflow)) }
        writer.family(Self.callsName, type: .counter, help: "LLM calls described by GenAI spans, by model and provider.")
        for (labels, totals) in ordered { writer.sample(Self.callsName, labels: labels, value: totals.calls) }
        writer.family(Self.tokensName, type: .counter, help: "LLM tokens used (gen_ai.usage.*), by model, provider and type (input or output).")
        for (labels, totals) in ordered {
            writer.sample(Self.tokensName, labels: labels + [("type", "input")], value: totals.inputTokens)
            writer.sample(Self.tokensName, labels: labels + [("type", "output")], value: totals.outputTokens)
        }
        writer.family(Self.costName, type: .counter, help: "Estimated LLM cost in US dollars from the configured price table, by model and provider.")
        for (labels, totals) in ordered { writer.sample(Self.costName, labels: labels, value: totals.costUSD) }
    }
}
