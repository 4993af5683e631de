import Foundation
import Histogram

/// What a run saw. Each connection worker keeps its own and they are merged at the end, so
/// nothing is shared while requests are in flight.
struct RunStatistics: Sendable {
    /// Latency of accepted (200) attempts, from sending the request to reading the answer, in µs.
    var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Every request sent, retries included.
    var attempts = 0
    var acceptedRequests = 0
    /// Items in accepted requests less those the server reported rejected (`partialSuccess`).
    var itemsAcknowledged = 0
    var itemsRejected = 0
    /// Request body bytes on the wire (after gzip), of accepted requests and of all attempts.
    var acceptedBytes = 0
    var sentBytes = 0
    /// 429 and 503 answers; each was retried after its `Retry-After` unless the run was over.
    var tooManyRequests = 0
    var unavailable = 0
    /// Requests given up while being refused: the run ended, or `--max-retries` was reached.
    var abandoned = 0
    /// Other HTTP statuses, by status (over gRPC: other status codes, negated).
    var httpErrors: [Int: Int] = [:]
    /// Requests that got no answer (connection refused or reset, time-out).
    var transportErrors = 0
    /// The first error of each kind, for the report.
    var problems: [String] = []

    var errorCount: Int { httpErrors.values.reduce(0, +) + transportErrors }

    mutating func note(_ problem: String) {
        if problems.count < 5 { problems.append(problem) }
    }

    mutating func merge(_ other: RunStatistics) {
        latency.add(other.latency)
        attempts += other.attempts
        acceptedRequests += other.acceptedRequests
        itemsAcknowledged += other.itemsAcknowledged
        itemsRejected += other.itemsRejected
        acceptedBytes += other.acceptedBytes
        sentBytes += other.sentBytes
        tooManyRequests += other.tooManyRequests
        unavailable += other.unavailable
        abandoned += other.abandoned
        httpErrors.merge(other.httpErrors, uniquingKeysWith: +)
        transportErrors += other.transportErrors
        for problem in other.problems where !problems.contains(problem) { note(problem) }
    }
}

/// The end-of-run report: a table for people and one JSON line for scripts.
struct RunReport {
    var settings: LoadSettings
    var statistics: RunStatistics
    var elapsedSeconds: Double
    var pregenerationSeconds: Double
    /// CPU time (user + system) the load generator itself used during the timed part.
    var generatorCPUSeconds: Double

    var itemsPerSecond: Double { elapsedSeconds > 0 ? Double(statistics.itemsAcknowledged) / elapsedSeconds : 0 }
    var megabytesPerSecond: Double { elapsedSeconds > 0 ? Double(statistics.acceptedBytes) / elapsedSeconds / 1e6 : 0 }

    /// A latency percentile of accepted requests in milliseconds; 0 when none was accepted.
    func latencyMilliseconds(_ percentile: Double) -> Double {
        statistics.latency.totalCount == 0 ? 0 : Double(statistics.latency.valueAtPercentile(percentile)) / 1000
    }

    var maxLatencyMilliseconds: Double {
        statistics.latency.totalCount == 0 ? 0 : Double(statistics.latency.max) / 1000
    }

    var table: String {
        let unit = settings.signal.itemName
        let s = statistics
        var lines = [
            "sightline-loadgen: \(settings.signal.rawValue) over \(settings.encoding.rawValue)\(settings.gzip ? " + gzip" : ""), "
                + "\(settings.itemsPerRequest) \(unit)/request, \(settings.concurrency) connections, "
                + (settings.rate > 0 ? "target \(Self.number(settings.rate)) \(unit)/s" : "as fast as possible")
                + ", \(Self.decimal(elapsedSeconds, 1)) s",
            row("\(unit) acknowledged", "\(Self.number(Double(s.itemsAcknowledged)))  (\(Self.number(itemsPerSecond)) \(unit)/s)"),
            row("on the wire", "\(Self.decimal(megabytesPerSecond, 1)) MB/s of accepted bodies"),
            row("requests", "\(s.acceptedRequests) accepted of \(s.attempts) sent"),
            row("latency (accepted)", ["p50", "p90", "p99"].enumerated().map { index, name in
                "\(name) \(Self.decimal(latencyMilliseconds([50.0, 90.0, 99.0][index]), 1))"
            }.joined(separator: "  ") + "  max \(Self.decimal(maxLatencyMilliseconds, 1)) ms"),
            row("429 / 503 answers", "\(s.tooManyRequests) / \(s.unavailable) (retried after Retry-After)"),
            row("abandoned", "\(s.abandoned) requests still refused when the run ended"),
            row("HTTP errors", s.httpErrors.isEmpty ? "0"
                : s.httpErrors.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")),
            row("transport errors", "\(s.transportErrors)"),
            row("\(unit) rejected", "\(s.itemsRejected) (partialSuccess)"),
            row("generator", "pre-generation \(Self.decimal(pregenerationSeconds, 1)) s, "
                + "CPU \(Self.decimal(generatorCPUSeconds, 1)) s in the timed part "
                + "(\(Self.decimal(elapsedSeconds > 0 ? 100 * generatorCPUSeconds / elapsedSeconds : 0, 0))% of one core)"),
        ]
        lines += s.problems.map { "  problem: \($0)" }
        return lines.joined(separator: "\n")
    }

    private func row(_ name: String, _ value: String) -> String {
        "  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + " " + value
    }

    /// One line of JSON with flat keys, for `bench/run`.
    var json: String {
        let s = statistics
        let fields: [(String, String)] = [
            ("signal", quoted(settings.signal.rawValue)),
            ("encoding", quoted(settings.encoding.rawValue)),
            ("gzip", "\(settings.gzip)"),
            ("items_per_request", "\(settings.itemsPerRequest)"),
            ("concurrency", "\(settings.concurrency)"),
            ("target_rate", Self.decimal(settings.rate, 1)),
            ("elapsed_s", Self.decimal(elapsedSeconds, 3)),
            ("items_acknowledged", "\(s.itemsAcknowledged)"),
            ("items_per_s", Self.decimal(itemsPerSecond, 1)),
            ("mb_per_s", Self.decimal(megabytesPerSecond, 2)),
            ("requests_accepted", "\(s.acceptedRequests)"),
            ("requests_sent", "\(s.attempts)"),
            ("p50_ms", Self.decimal(latencyMilliseconds(50), 2)),
            ("p90_ms", Self.decimal(latencyMilliseconds(90), 2)),
            ("p99_ms", Self.decimal(latencyMilliseconds(99), 2)),
            ("max_ms", Self.decimal(maxLatencyMilliseconds, 2)),
            ("status_429", "\(s.tooManyRequests)"),
            ("status_503", "\(s.unavailable)"),
            ("abandoned", "\(s.abandoned)"),
            ("http_errors", "\(s.httpErrors.values.reduce(0, +))"),
            ("transport_errors", "\(s.transportErrors)"),
            ("items_rejected", "\(s.itemsRejected)"),
            ("pregeneration_s", Self.decimal(pregenerationSeconds, 3)),
            ("generator_cpu_s", Self.decimal(generatorCPUSeconds, 3)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private func quoted(_ text: String) -> String { "\"\(text)\"" }

    static func decimal(_ value: Double, _ places: Int) -> String {
        String(format: "%.\(places)f", value)
    }

    /// A whole number with thousands separators, e.g. 24,700.
    static func number(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var grouped = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0, index % 3 == 0, character != "-" { grouped.append(",") }
            grouped.append(character)
        }
        return String(grouped.reversed())
    }
}
