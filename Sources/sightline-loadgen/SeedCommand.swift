import ArgumentParser
import Foundation
import Ingest
import Logging
import OTLP
import Store

/// `sightline-loadgen seed`: fills a store straight through Sightline's own mapping and store
/// code (no HTTP), with the same traffic the load generator sends, spread evenly over a time
/// window, for the query benchmark. Oldest data first, as ingest would have written it.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Fill a store directly with realistic spans and log records spread over a time window.",
        discussion: """
            The store is migrated first. Rows go through Sightline's mapping and store code in \
            transactions of --batch items; the next batch is generated while one is written. \
            Seeding the same store twice adds to it (trace ids are random per run unless --seed is given).
            """)

    @Option(help: "sqlite:PATH or postgres://user:password@host:port/database")
    var storage: String

    @Option(help: "Spans to write (whole traces of 6 to 11 spans).")
    var spans = 1_000_000

    @Option(help: "Log records to write.")
    var logs = 1_000_000

    @Option(help: "The data spreads evenly over this many hours before now.")
    var hours: Double = 24

    @Option(help: "Items per transaction.")
    var batch = 5_000

    @Option(help: "Seed of the generated traffic (default: random, so repeated runs add new traces).")
    var seed: UInt64?

    @Flag(help: "Also print the result as one line of JSON (the last line).")
    var json = false

    func validate() throws {
        guard storage.hasPrefix("sqlite:") || storage.hasPrefix("postgres://") || storage.hasPrefix("postgresql://") else {
            throw ValidationError("--storage \"\(storage)\": expected sqlite:PATH or postgres://...")
        }
        guard spans >= 0, logs >= 0, spans + logs > 0 else { throw ValidationError("--spans and --logs must be 0 or more, not both 0") }
        guard hours > 0, hours <= 24 * 365 else { throw ValidationError("--hours must be more than 0 and at most 8760") }
        guard (100...100_000).contains(batch) else { throw ValidationError("--batch must be 100 to 100000") }
    }

    func run() async throws {
        var logger = Logger(label: "sightline-loadgen.seed")
        logger.logLevel = .warning
        let store: any TelemetryStore
        if storage.hasPrefix("sqlite:") {
            store = try await SQLiteStore.open(path: String(storage.dropFirst("sqlite:".count)), logger: logger)
        } else {
            store = PostgresStore(configuration: try PostgresStore.Configuration(url: storage), logger: logger)
        }
        let plan = SeedPlan(spans: spans, logs: logs, batch: batch, windowNano: UInt64(hours * 3600e9),
                            nowUnixNano: UInt64(Date.now.timeIntervalSince1970 * 1e9),
                            seed: seed ?? UInt64.random(in: .min ... .max))
        let started = ContinuousClock.now
        let written: SeedPlan.Totals
        do {
            written = try await withThrowingTaskGroup(of: SeedPlan.Totals?.self) { group in
                if let service = store.backgroundService {
                    group.addTask { try await service.run(); return nil }
                }
                group.addTask {
                    try await store.migrate()
                    return try await plan.write(to: store)
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw CancellationError()
            }
        } catch {
            try? await store.close()
            FileHandle.standardError.write(Data("sightline-loadgen seed: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await store.close()
        let seconds = started.duration(to: .now).seconds
        let rate = Double(written.spans + written.logs) / max(seconds, 1e-9)
        print("seeded \(written.spans) spans (\(written.traces) traces) and \(written.logs) log records over \(hours) h in "
            + String(format: "%.1f s (%.0f items/s)", seconds, rate))
        if json {
            print(#"{"spans":\#(written.spans),"traces":\#(written.traces),"logs":\#(written.logs),"seconds":\#(String(format: "%.3f", seconds))}"#)
        }
    }
}

/// What to write, in which order: span and log batches interleaved from the oldest to the
/// newest, each batch's timestamps in one minute of the window.
struct SeedPlan: Sendable {
    struct Totals: Sendable { var spans = 0, traces = 0, logs = 0 }

    var spans: Int
    var logs: Int
    var batch: Int
    var windowNano: UInt64
    var nowUnixNano: UInt64
    var seed: UInt64

    /// Batch `index` of `count` ends at this time: the first batch a window's length ago, the last now.
    func baseTime(_ index: Int, of count: Int) -> UInt64 {
        let elapsed = count <= 1 ? 1.0 : Double(index) / Double(count - 1)
        return nowUnixNano - UInt64(Double(windowNano) * (1 - elapsed))
    }

    /// The batches in write order: `(isLogs, size, baseTime, model seed)`.
    func batches() -> [(logs: Bool, size: Int, base: UInt64, seed: UInt64)] {
        func sizes(_ total: Int) -> [Int] {
            stride(from: 0, to: total, by: batch).map { min(batch, total - $0) }
        }
        let spanSizes = sizes(spans)
        let logSizes = sizes(logs)
        var order: [(logs: Bool, size: Int, base: UInt64, seed: UInt64)] = []
        var s = 0, l = 0
        while s < spanSizes.count || l < logSizes.count {
            // Interleave by position in the window, so both tables fill in time order.
            let spanPosition = spanSizes.isEmpty ? 2 : Double(s) / Double(spanSizes.count)
            let logPosition = logSizes.isEmpty ? 2 : Double(l) / Double(logSizes.count)
            if s < spanSizes.count, spanPosition <= logPosition || l >= logSizes.count {
                order.append((false, spanSizes[s], baseTime(s, of: spanSizes.count), SplitMix64.mix(seed &+ UInt64(s) &* 2)))
                s += 1
            } else {
                order.append((true, logSizes[l], baseTime(l, of: logSizes.count), SplitMix64.mix(seed &+ UInt64(l) &* 2 &+ 1)))
                l += 1
            }
        }
        return order
    }

    static func rows(logs: Bool, size: Int, base: UInt64, seed: UInt64) -> WriteBatch {
        var model = TrafficModel(seed: seed, baseTimeUnixNano: base)
        return logs ? model.logs(recordCount: size).writeBatch(arrivalUnixNano: Int64(base))
                    : model.traces(spanCount: size).writeBatch()
    }

    /// Writes every batch, generating the next one while the current one commits.
    func write(to store: any TelemetryStore) async throws -> Totals {
        let order = batches()
        var totals = Totals()
        guard let first = order.first else { return totals }
        var next: Task<WriteBatch, Never>? = Task { Self.rows(logs: first.logs, size: first.size, base: first.base, seed: first.seed) }
        var reported = 0
        for index in order.indices {
            let rows = await next!.value
            if index + 1 < order.count {
                let item = order[index + 1]
                next = Task { Self.rows(logs: item.logs, size: item.size, base: item.base, seed: item.seed) }
            } else {
                next = nil
            }
            try await store.write(rows)
            totals.spans += rows.spans.count
            totals.traces += rows.traces.count
            totals.logs += rows.logs.count
            let percent = (index + 1) * 10 / order.count
            if percent > reported {
                reported = percent
                FileHandle.standardError.write(Data("sightline-loadgen seed: \(percent * 10)% (\(totals.spans) spans, \(totals.logs) log records)\n".utf8))
            }
        }
        return totals
    }
}
