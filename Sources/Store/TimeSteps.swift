/// A window cut into equal steps for a time series: `count` steps of `stepNano` from `startUnixNano`.
/// Steps are aligned to multiples of the step since the Unix epoch, and the last one holds the
/// window's end, so two requests a few seconds apart share their steps and a chart's points do
/// not shift under the reader.
public struct TimeSteps: Sendable, Equatable {
    /// The first step's start, in Unix nanoseconds (a multiple of `stepNano`).
    public var startUnixNano: Int64
    public var stepNano: Int64
    public var count: Int

    public init(startUnixNano: Int64, stepNano: Int64, count: Int) {
        self.startUnixNano = startUnixNano
        self.stepNano = stepNano
        self.count = count
    }

    /// The end of the last step (exclusive).
    public var endUnixNano: Int64 { startUnixNano + Int64(count) * stepNano }

    /// The step a store read as `index` (`SQLBuilder.stepIndex`), within the steps.
    func step(_ index: Int64) -> Int { Int(min(max(index, 0), Int64(count - 1))) }

    /// The start of step `index`.
    public func start(of index: Int) -> Int64 { startUnixNano + Int64(index) * stepNano }

    /// The steps of `stepSeconds` covering the `seconds` before `now` (a window relative to
    /// now, such as "the last hour"): as many as fit the window, rounded up, the last one
    /// holding `now`.
    public static func covering(seconds: Int64, endingAt now: Int64, stepSeconds: Int64) -> TimeSteps {
        let step = stepSeconds * 1_000_000_000
        let count = Int((seconds + stepSeconds - 1) / stepSeconds)
        return TimeSteps(startUnixNano: floor(now, step) - Int64(count - 1) * step, stepNano: step, count: count)
    }

    /// The steps of `stepSeconds` that hold some instant of `from ..< until` (a range picked on
    /// a chart): from the one holding `from` to the one holding the range's last instant.
    public static func spanning(fromUnixNano from: Int64, untilUnixNano until: Int64, stepSeconds: Int64) -> TimeSteps {
        let step = stepSeconds * 1_000_000_000
        let first = floor(from, step)
        return TimeSteps(startUnixNano: first, stepNano: step, count: Int((floor(until - 1, step) - first) / step) + 1)
    }

    /// `value` rounded down to a multiple of `step` (also below zero).
    static func floor(_ value: Int64, _ step: Int64) -> Int64 {
        let quotient = value / step
        return (value % step < 0 ? quotient - 1 : quotient) * step
    }
}

/// The traces started in one step: how many, how many failed, and their duration percentiles.
public struct TraceStepTotals: Sendable, Equatable {
    public var requests: Int64
    public var errors: Int64
    /// Nil when no trace of the step has a duration.
    public var percentiles: DurationPercentiles?

    public init(requests: Int64 = 0, errors: Int64 = 0, percentiles: DurationPercentiles? = nil) {
        self.requests = requests
        self.errors = errors
        self.percentiles = percentiles
    }
}

extension SQLBuilder {
    /// The index of the step of `steps` that the time column `column` falls in, for rows in the
    /// window (`within`). To the millisecond: SQLite's date functions round to it, so a row less
    /// than half a millisecond before a step's end counts in the next step (`TimeSteps.step(_:)`
    /// keeps the last step's in the window).
    mutating func stepIndex(of column: String, in steps: TimeSteps) -> String {
        let origin = bind(steps.startUnixNano / 1_000_000)
        let step = bind(steps.stepNano / 1_000_000)
        switch dialect {
        case .postgres:
            return "floor((extract(epoch FROM \(column)) * 1000 - \(origin)) / \(step))::bigint"
        case .sqlite:
            return "((CAST(round((julianday(\(column)) - 2440587.5) * 86400000.0) AS INTEGER) - \(origin)) / \(step))"
        }
    }

    /// `column` inside the window of `steps` (start inclusive, end exclusive).
    mutating func within(_ column: String, _ steps: TimeSteps) -> String {
        "\(column) >= \(bindTime(unixNano: steps.startUnixNano)) AND \(column) < \(bindTime(unixNano: steps.endUnixNano))"
    }
}
