import Store

/// Why a `poll` gave up: what it waited for and how long.
public struct PollTimeout: Error, CustomStringConvertible {
    public let what: String
    public let limit: Duration

    public var description: String { "timed out after \(limit) waiting for \(what)" }
}

/// Checks `condition` every `interval` until it holds; throws `PollTimeout` after `limit`.
/// The one way tests wait for something to happen: on an observable condition (a row count, a
/// counter in /metrics, a queue depth), bounded by a deadline, never a fixed sleep.
public func poll(
    _ what: String, within limit: Duration, every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    guard try await holds(within: limit, every: interval, condition) else { throw PollTimeout(what: what, limit: limit) }
}

/// As `poll`, for callers that assert on the answer themselves: true when `condition` held
/// within `seconds` (checked every `interval`), false when the deadline passed.
public func eventually(_ seconds: Double = 20, every interval: Duration = .milliseconds(100),
                       _ condition: () async throws -> Bool) async throws -> Bool {
    try await holds(within: .milliseconds(Int64(seconds * 1000)), every: interval, condition)
}

private func holds(within limit: Duration, every interval: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return true }
        guard ContinuousClock.now < deadline else { return false }
        try await Task.sleep(for: interval)
    }
}
