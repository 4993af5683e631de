import ArgumentParser
import Foundation
import Logging
import OTLP
import Store

/// `sightline-loadgen steady-state`: ingest and retention in balance over several retention
/// periods, with time moved by hand instead of waited for. Each period writes its spans and log
/// records (as `seed` does, spread over the period), then deletes what is older than one
/// period (and two minutes) the way the retention worker does (slices of `--slice-limit`, each followed by
/// `--vacuum-pages` of incremental vacuum), closes the store and prints its size on disk. A
/// store at steady state shows the same size period after period (docs/retention.md).
struct SteadyStateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steady-state",
        abstract: "Ingest and retention over several retention periods (time moved by hand); the store's size after each.",
        discussion: """
            The data of period k lies in the k-th --period-hours of the window that ends now; after \
            writing it, everything older than one period is deleted, so each period keeps one \
            period of data. The store is closed after each period (SQLite then copies its \
            write-ahead log back and removes it), so the sizes printed are the files' at rest.
            """)

    @Option(help: "sqlite:PATH or postgres://user:password@host:port/database")
    var storage: String

    @Option(help: "Retention periods to run.")
    var periods = 8

    @Option(help: "Spans and log records (each) written per period.")
    var items = 100_000

    @Option(help: "The retention period, in hours of the written data's time.")
    var periodHours: Double = 2

    @Option(help: "Traces or rows per deletion slice (the retention worker's default).")
    var sliceLimit = 500

    @Option(help: "Free pages given back after each slice (the retention worker's default; SQLite).")
    var vacuumPages = 2_000

    @Flag(help: "Also print the results as one line of JSON (the last line).")
    var json = false

    func validate() throws {
        guard storage.hasPrefix("sqlite:") || storage.hasPrefix("postgres://") || storage.hasPrefix("postgresql://") else {
            throw ValidationError("--storage \"\(storage)\": expected sqlite:PATH or postgres://...")
        }
        guard (1...1_000).contains(periods) else { throw ValidationError("--periods must be 1 to 1000") }
        guard (1...100_000_000).contains(items) else { throw ValidationError("--items must be 1 to 100000000") }
        guard periodHours > 0, periodHours * Double(periods) <= 24 * 365 else {
            throw ValidationError("--period-hours must be more than 0, and all periods together at most 8760 hours")
        }
        guard (1...100_000).contains(sliceLimit) else { throw ValidationError("--slice-limit must be 1 to 100000") }
        guard (1...1_000_000).contains(vacuumPages) else { throw ValidationError("--vacuum-pages must be 1 to 1000000") }
    }

    /// One period's outcome.
    struct Period: Sendable {
        var written: SeedPlan.Totals
        var deleted: Int
        var sizes: [StorePartSize]

        var totalBytes: Int64 { sizes.reduce(0) { $0 + $1.bytes } }
    }

    func run() async throws {
        var logger = Logger(label: "sightline-loadgen.steady-state")
        logger.logLevel = .warning
        let period = UInt64(periodHours * 3600e9)
        let end = UInt64(Date.now.timeIntervalSince1970 * 1e9)
        let first = end - UInt64(periods) * period
        var results: [Period] = []
        let started = ContinuousClock.now
        for index in 0..<periods {
            let periodEnd = first + UInt64(index + 1) * period
            // At least 100 batches a period, so the data spreads over it (each batch's rows lie
            // in one minute).
            let plan = SeedPlan(spans: items, logs: items, batch: min(5_000, max(100, items / 100)), windowNano: period, nowUnixNano: periodEnd,
                                seed: SplitMix64.mix(UInt64(index) &+ 0x5EED))
            let result: Period
            do {
                result = try await withStore(logger: logger) { store in
                    let written = try await plan.write(to: store)
                    // PostgreSQL: deletion runs on the connection of retention's leader.
                    guard await store.queries.retention.acquireLeadership() else { throw SteadyStateError.notLeader }
                    let deleted: Int
                    do {
                        deleted = try await deleteOlder(than: Int64(periodEnd - period - Self.margin), in: store)
                    } catch {
                        await store.queries.retention.releaseLeadership()
                        throw error
                    }
                    await store.queries.retention.releaseLeadership()
                    return Period(written: written, deleted: deleted, sizes: [])
                }
            } catch {
                FileHandle.standardError.write(Data("sightline-loadgen steady-state: \(error)\n".utf8))
                throw ExitCode(1)
            }
            var measured = result
            measured.sizes = try await withStore(logger: logger) { try await $0.queries.retention.storeSize() }
            results.append(measured)
            // The parts of a MiB or more (PostgreSQL lists every table).
            let parts = measured.sizes.filter { $0.bytes >= 1_048_576 }.map { "\($0.part) \(Self.mebibytes($0.bytes))" }
            print("period \(index + 1): wrote \(measured.written.spans) spans and \(measured.written.logs) log records, "
                + "deleted \(measured.deleted) rows; \(Self.mebibytes(measured.totalBytes)) MiB (\(parts.joined(separator: ", ")))")
        }
        let seconds = started.duration(to: .now).seconds
        let firstBytes = results.first?.totalBytes ?? 0
        let largest = results.map(\.totalBytes).max() ?? 0
        print("after \(periods) periods of \(periodHours) h (\(String(format: "%.0f", seconds)) s): largest \(Self.mebibytes(largest)) MiB, "
            + "\(String(format: "%.2f", Double(largest) / Double(max(firstBytes, 1))))× the first period's \(Self.mebibytes(firstBytes)) MiB")
        if json {
            let sizes = results.map { String($0.totalBytes) }.joined(separator: ",")
            print(#"{"periods":\#(periods),"items_per_period":\#(items),"period_hours":\#(periodHours),"bytes":[\#(sizes)],"seconds":\#(String(format: "%.1f", seconds))}"#)
        }
    }

    /// Deletes spans and log records older than `cutoff` as the retention worker does; the rows deleted.
    private func deleteOlder(than cutoff: Int64, in store: any TelemetryStore) async throws -> Int {
        var deleted = 0
        for signal in [RetentionSignal.traces, .logs] {
            while true {
                let slice = try await store.queries.retention.deleteExpired(signal, before: cutoff, limit: sliceLimit)
                if slice.isEmpty { break }
                deleted += slice.total
                try await store.queries.retention.reclaimSpace(pages: vacuumPages)
            }
        }
        return deleted
    }

    /// Opens the store (migrated, its background work running), runs `body`, closes it.
    private func withStore<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (any TelemetryStore) async throws -> T) async throws -> T {
        let store: any TelemetryStore
        if storage.hasPrefix("sqlite:") {
            store = try await SQLiteStore.open(path: String(storage.dropFirst("sqlite:".count)), logger: logger)
        } else {
            store = PostgresStore(configuration: try PostgresStore.Configuration(url: storage), logger: logger)
        }
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { group in
                if let service = store.backgroundService {
                    group.addTask { try await service.run(); return nil }
                }
                group.addTask {
                    try await store.migrate()
                    return try await body(store)
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw CancellationError()
            }
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// The seeded data starts up to a minute before its window: the cutoff is two minutes
    /// earlier still, so a period's run deletes the period before and none of its own.
    static let margin: UInt64 = 120_000_000_000

    enum SteadyStateError: Error, CustomStringConvertible {
        case notLeader
        var description: String { "another Sightline leads retention on this database" }
    }

    static func mebibytes(_ bytes: Int64) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
