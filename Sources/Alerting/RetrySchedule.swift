/// When to retry a failed notification: exponential backoff, capped, for a bounded number of
/// attempts. Pure; the dispatcher sleeps on an injected clock.
public struct RetrySchedule: Sendable, Equatable {
    /// Attempts in all, the first included (at least 1).
    public var maxAttempts: Int
    /// Wait before the second attempt.
    public var initialDelay: Duration
    /// Each further wait is the previous one times this.
    public var multiplier: Int
    /// No wait is longer than this.
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, initialDelay: Duration = .seconds(1), multiplier: Int = 2, maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.multiplier = max(1, multiplier)
        self.maxDelay = maxDelay
    }

    /// The wait after failed attempt `attempt` (1-based), or `nil` when no attempt follows.
    public func delay(afterAttempt attempt: Int) -> Duration? {
        guard attempt >= 1, attempt < maxAttempts else { return nil }
        var delay = initialDelay
        for _ in 1..<attempt {
            delay = delay * multiplier
            if delay >= maxDelay { return maxDelay }
        }
        return min(delay, maxDelay)
    }

    /// Every wait, in order (`maxAttempts - 1` of them).
    public var delays: [Duration] { (1..<maxAttempts).compactMap { delay(afterAttempt: $0) } }

    /// Whether an outcome is worth retrying: connection failures, timeouts, 408, 429 and 5xx.
    public static func isRetryable(statusCode: Int?) -> Bool {
        guard let statusCode else { return true }
        return statusCode == 408 || statusCode == 429 || statusCode >= 500
    }
}
