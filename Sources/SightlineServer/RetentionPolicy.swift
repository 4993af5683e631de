import Store

/// How long each kind of data is kept (`nil`: for ever), and what that makes expired at a
/// given time. The defaults are the settings' (`Setting.traceRetention` …): traces 14 days
/// (Tempo's default), logs 30, LLM calls and resolved alert history 90; the original metric
/// tables at the periods their migration (007) names: requests and RAG 30 days, system and
/// cache 7; OTLP metric points 14.
public struct RetentionPolicy: Sendable, Equatable, CustomStringConvertible {
    public var traces: Duration? = .days(14)
    public var logs: Duration? = .days(30)
    public var llmCalls: Duration? = .days(90)
    public var alertHistory: Duration? = .days(90)
    public var requestMetrics: Duration? = .days(30)
    public var systemMetrics: Duration? = .days(7)
    public var ragMetrics: Duration? = .days(30)
    public var cacheMetrics: Duration? = .days(7)
    /// OTLP metric points (`--metric-retention`).
    public var metrics: Duration? = .days(14)

    public init() {}

    /// Every signal kept for ever.
    public static let keepEverything: RetentionPolicy = {
        var policy = RetentionPolicy()
        for signal in RetentionSignal.allCases { policy[signal] = nil }
        return policy
    }()

    public subscript(_ signal: RetentionSignal) -> Duration? {
        get {
            switch signal {
            case .traces: traces
            case .logs: logs
            case .llmCalls: llmCalls
            case .alertHistory: alertHistory
            case .requestMetrics: requestMetrics
            case .systemMetrics: systemMetrics
            case .ragMetrics: ragMetrics
            case .cacheMetrics: cacheMetrics
            case .metrics: metrics
            }
        }
        set {
            switch signal {
            case .traces: traces = newValue
            case .logs: logs = newValue
            case .llmCalls: llmCalls = newValue
            case .alertHistory: alertHistory = newValue
            case .requestMetrics: requestMetrics = newValue
            case .systemMetrics: systemMetrics = newValue
            case .ragMetrics: ragMetrics = newValue
            case .cacheMetrics: cacheMetrics = newValue
            case .metrics: metrics = newValue
            }
        }
    }

    /// The signals with a period and the time before which their data is expired at `now`
    /// (Unix nanoseconds), in `RetentionSignal` order.
    public func cutoffs(nowUnixNano now: Int64) -> [(signal: RetentionSignal, cutoff: Int64)] {
        RetentionSignal.allCases.compactMap { signal in
            guard let period = self[signal] else { return nil }
            let (seconds, attoseconds) = period.components
            return (signal, now - seconds * 1_000_000_000 - attoseconds / 1_000_000_000)
        }
    }

    /// `traces=14d logs=30d … cache_metrics=forever`.
    public var description: String {
        RetentionSignal.allCases.map { signal in
            guard let period = self[signal] else { return "\(signal.rawValue)=forever" }
            let seconds = period.components.seconds
            return "\(signal.rawValue)=" + (seconds % 86_400 == 0 ? "\(seconds / 86_400)d" : "\(seconds / 3_600)h")
        }.joined(separator: " ")
    }
}

extension Duration {
    static func days(_ days: Int) -> Duration { .seconds(days * 86_400) }
}
