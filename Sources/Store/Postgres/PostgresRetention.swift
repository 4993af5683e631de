import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var retentionQueries: any RetentionQueries { PostgresRetentionQueries(store: self, session: retentionSession) }
}

/// `RetentionQueries` on PostgreSQL: slices run on the retention leader's own connection
/// (`PostgresRetentionSession`), away from the writer's and readers' pools; sizes and oldest
/// times are reads.
struct PostgresRetentionQueries: RetentionQueries {
    let store: PostgresStore
    let session: PostgresRetentionSession

    private var statements: RetentionStatements { RetentionStatements(dialect: .postgres) }

    /// The leader also keeps the day partitions ahead of time (`ensurePartitions`; safe for
    /// several Sightlines at once, it takes a lock of its own).
    func acquireLeadership() async -> Bool {
        guard await session.acquire() else { return false }
        do {
            try await store.ensurePartitions(around: Date.now.unixNano)
        } catch {
            store.logger.warning("partition upkeep failed; the next run tries again", metadata: ["error": "\(error.reason)"])
        }
        return true
    }
    func releaseLeadership() async { await session.release() }

    func deleteExpired(_ signal: RetentionSignal, before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        switch signal {
        case .traces: try await deleteExpiredTraces(before: cutoffUnixNano, limit: limit)
        case .logs: try await deleteExpiredLogs(before: cutoffUnixNano, limit: limit)
        case .metrics: try await deleteExpiredMetrics(before: cutoffUnixNano, limit: limit)
        default: try await deleteRows(statements.slice(signal, before: cutoffUnixNano, limit: limit))
        }
    }

    /// Traces with their spans: first the whole day partitions of `trace_spans` before the
    /// cutoff (every span in them started before it, so its trace did too), then the traces
    /// that started before the cutoff by rows, the cascade taking their spans of later days
    /// (docs/partitioning.md, "A trace is never left with half its spans").
    func deleteExpiredTraces(before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        var deleted = try await dropDays(of: .traceSpans, before: cutoffUnixNano)
        deleted.add(try await deleteRows(statements.slice(.traces, before: cutoffUnixNano, limit: limit)))
        return deleted
    }

    /// Log records: the whole day partitions before the cutoff, then the rest by rows.
    func deleteExpiredLogs(before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        var deleted = try await dropDays(of: .structuredLogs, before: cutoffUnixNano)
        deleted.add(try await deleteRows(statements.slice(.logs, before: cutoffUnixNano, limit: limit)))
        return deleted
    }

    /// OTLP metric points: the whole day partitions before the cutoff, then the rest by rows,
    /// then the series no longer seen.
    func deleteExpiredMetrics(before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        var deleted = try await dropDays(of: .metricPoints, before: cutoffUnixNano)
        deleted.add(try await deleteRows(statements.slice(.metrics, before: cutoffUnixNano, limit: limit)))
        return deleted
    }

    /// Drops `table`'s day partitions wholly before `cutoff`, once per cutoff day (the slices
    /// that follow in the same run find nothing more to drop); their rows as estimated.
    private func dropDays(of table: PartitionedTable, before cutoff: Int64) async throws(StoreError) -> DeletedRows {
        let day = cutoff - ((cutoff % 86_400_000_000_000) + 86_400_000_000_000) % 86_400_000_000_000
        guard session.startDropping(table, day: day) else { return DeletedRows() }
        let dropped = try await store.dropPartitions(of: table, olderThan: cutoff)
        if !dropped.names.isEmpty {
            store.logger.info("retention dropped day partitions", metadata: [
                "retention.table": "\(table.rawValue)", "retention.partitions": "\(dropped.names.joined(separator: ","))"])
        }
        return DeletedRows([table.rawValue: Int(dropped.estimatedRows)])
    }

    /// One transaction: `slice.lock`, then each `main` step counted, and `then` when `main`
    /// deleted nothing.
    private func deleteRows(_ slice: RetentionStatements.Slice) async throws(StoreError) -> DeletedRows {
        do {
            return try await session.transaction { run in
                if let lock = slice.lock { _ = try await run(lock) }
                func steps(_ steps: [RetentionStatements.Step]) async throws -> DeletedRows {
                    var deleted: [String: Int] = [:]
                    for step in steps {
                        let counted = ReadQuery(sql: "WITH deleted AS (\(step.query.sql) RETURNING 1) SELECT count(*) AS deleted FROM deleted",
                                                binds: step.query.binds)
                        deleted[step.table, default: 0] += Int(try await run(counted).first?.int("deleted") ?? 0)
                    }
                    return DeletedRows(deleted)
                }
                let main = try await steps(slice.main)
                return main.isEmpty ? try await steps(slice.then) : main
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "delete", reason: PostgresStore.describe(error))
        }
    }

    func oldestRetained(_ signal: RetentionSignal) async throws(StoreError) -> Int64? {
        try RetentionStatements.oldestTime(try await StoreReads(store).rows(statements.oldest(signal)))
    }

    /// Each table of the `enterprise` schema with its indexes and TOAST; a partitioned table's
    /// partitions counted as the table.
    func storeSize() async throws(StoreError) -> [StorePartSize] {
        let query = ReadQuery(sql: """
            SELECT coalesce(parent.relname, c.relname) AS part, CAST(sum(pg_total_relation_size(c.oid)) AS BIGINT) AS bytes
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class parent ON parent.oid = i.inhparent
            WHERE n.nspname = 'enterprise' AND c.relkind = 'r'
            GROUP BY 1 ORDER BY 1
            """)
        return try await StoreReads(store).rows(query).map { row throws(StoreError) in
            StorePartSize(part: try row.text("part") ?? "", bytes: try row.int("bytes") ?? 0)
        }
    }

    /// PostgreSQL's autovacuum makes deleted rows' space reusable in place.
    func reclaimSpace(pages: Int) async throws(StoreError) {}
}

/// Retention's leader among the Sightlines sharing one PostgreSQL database: a session-level
/// advisory lock of its own (not the alert evaluator's, so the two jobs may run in different
/// processes), on a connection of its own that the leader's slices also run on. The lock goes
/// with the session: when the leader stops or its connection dies, another Sightline takes it
/// at its next run.
final class PostgresRetentionSession: Sendable {
    /// The advisory lock key ("SighRetn").
    static let lockKey: Int64 = 0x5369_6768_5265_746e

    private struct State {
        var connection: PostgresConnection?
        var holding = false
        /// The cutoff day each partitioned table was last dropped up to.
        var droppedDays: [PartitionedTable: Int64] = [:]
    }

    private let configuration: PostgresStore.Configuration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresStore.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether `table`'s partitions before `day` are still to be dropped (then noted as done).
    func startDropping(_ table: PartitionedTable, day: Int64) -> Bool {
        state.withLock { state in
            guard (state.droppedDays[table] ?? .min) < day else { return false }
            state.droppedDays[table] = day
            return true
        }
    }

    /// Whether this process holds the lock now (taking it when free).
    func acquire() async -> Bool {
        do {
            let connection = try await connected()
            if state.withLock({ $0.holding }) {
                _ = try await withTimeLimit(.seconds(5)) { try await connection.query("SELECT 1", logger: self.logger) }
                return true
            }
            var locked = false
            let rows = try await withTimeLimit(.seconds(5)) {
                try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey)) AS locked", logger: self.logger)
            }
            for try await value in rows.decode(Bool.self) { locked = value }
            state.withLock { $0.holding = locked }
            return locked
        } catch {
            logger.warning("cannot check the retention lock", metadata: ["error": "\(PostgresStore.describe(error))"])
            await drop()
            return false
        }
    }

    /// Gives the lock up and closes its connection.
    func release() async {
        let (held, holding) = state.withLock { current -> (PostgresConnection?, Bool) in
            defer { current = State() }
            return (current.connection, current.holding)
        }
        guard let held else { return }
        if holding, !held.isClosed { _ = try? await held.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger) }
        try? await held.close()
    }

    /// Runs `body`'s statements in one transaction on the leader's connection (the writer's
    /// statement time limit applies to each).
    func transaction<T: Sendable>(_ body: @Sendable (_ run: (ReadQuery) async throws -> [ResultRow]) async throws -> T) async throws -> T {
        guard let connection = state.withLock({ $0.holding ? $0.connection : nil }) else {
            throw StoreError(operation: "delete", reason: "not the retention leader")
        }
        do {
            var result: T?
            try await PostgresStore.transaction(on: connection, logger: logger) { _ in
                result = try await body { query in
                    var rows: [ResultRow] = []
                    for try await row in try await connection.query(PostgresQuery(unsafeSQL: query.sql, binds: PostgresStore.bindings(query.binds)),
                                                                    logger: self.logger) {
                        var names: [String] = []
                        var values: [SQLValue] = []
                        for cell in row {
                            names.append(cell.columnName)
                            values.append(try PostgresStore.value(of: cell))
                        }
                        rows.append(ResultRow(columns: names, values: values))
                    }
                    return rows
                }
            }
            guard let result else { throw StoreError(operation: "delete", reason: "no result") }
            return result
        } catch {
            if connection.isClosed { await drop() }
            throw error
        }
    }

    private func connected() async throws -> PostgresConnection {
        if let current = state.withLock({ $0.connection }), !current.isClosed { return current }
        if state.withLock({ $0.holding }) { logger.warning("retention lost its lock connection") }
        state.withLock { $0 = State() }
        var connectionConfiguration = configuration.connectionConfiguration
        connectionConfiguration.options.connectTimeout = .seconds(5)
        let opened = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 3, logger: logger)
        state.withLock { $0 = State(connection: opened, holding: false) }
        return opened
    }

    private func drop() async {
        let dropped = state.withLock { current -> PostgresConnection? in
            defer { current = State() }
            return current.connection
        }
        try? await dropped?.close()
    }
}
