import Synchronization

/// What the retention worker reports in `/metrics` (docs/metrics.md): rows deleted per table,
/// when it last ran, the oldest time kept per signal, and the store's size per part.
public final class RetentionMetrics: Sendable {
    public enum Name {
        public static let deleted = "sightline_retention_deleted_total"
        public static let lastRun = "sightline_retention_last_run_timestamp_seconds"
        public static let oldest = "sightline_oldest_retained_timestamp_seconds"
        public static let storeSize = "sightline_store_size_bytes"
    }

    private struct State {
        var deleted: [String: Int64] = [:]
        var lastRun: Double?
        var oldest: [String: Double] = [:]
        var sizes: [String: Int64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds rows deleted from each table.
    public func deleted(_ byTable: [String: Int]) {
        state.withLock { state in
            for (table, count) in byTable { state.deleted[table, default: 0] += Int64(count) }
        }
    }

    /// A finished run, at Unix time `seconds`.
    public func ran(at seconds: Double) { state.withLock { $0.lastRun = seconds } }

    /// The oldest time kept per signal (Unix seconds), replacing what was set; a signal with
    /// nothing stored is left out.
    public func setOldest(_ bySignal: [String: Double]) { state.withLock { $0.oldest = bySignal } }

    /// The store's size per part (`database`, `wal`, or a table), replacing what was set.
    public func setStoreSize(_ byPart: [String: Int64]) { state.withLock { $0.sizes = byPart } }

    /// The rows deleted from `table` so far.
    public func deletedRows(_ table: String) -> Int64 { state.withLock { $0.deleted[table] ?? 0 } }

    /// Each family once it has a sample (none before the worker's first run).
    func write(into writer: inout PrometheusTextWriter) {
        let state = state.withLock { $0 }
        if !state.deleted.isEmpty {
            writer.family(Name.deleted, type: .counter, help: "Rows the retention worker deleted, by table.")
            for (table, count) in state.deleted.sorted(by: { $0.key < $1.key }) {
                writer.sample(Name.deleted, labels: [("table", table)], value: count)
            }
        }
        if let lastRun = state.lastRun {
            writer.family(Name.lastRun, type: .gauge, help: "When the retention worker last finished a run (as leader), Unix seconds.")
            writer.sample(Name.lastRun, value: lastRun)
        }
        if !state.oldest.isEmpty {
            writer.family(Name.oldest, type: .gauge, help: "The oldest time still stored per signal, Unix seconds.")
            for (signal, seconds) in state.oldest.sorted(by: { $0.key < $1.key }) {
                writer.sample(Name.oldest, labels: [("signal", signal)], value: seconds)
            }
        }
        if !state.sizes.isEmpty {
            writer.family(Name.storeSize, type: .gauge,
                          help: "Bytes the store takes up: SQLite's database and WAL files, or each PostgreSQL table with its indexes.")
            for (part, bytes) in state.sizes.sorted(by: { $0.key < $1.key }) {
                writer.sample(Name.storeSize, labels: [("part", part)], value: bytes)
            }
        }
    }
}
