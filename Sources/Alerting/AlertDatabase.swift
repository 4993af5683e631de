import Foundation
import Logging
import NIOPosix
import SQLiteNIO
import Store

/// The alert engine's access to the store: statements on the alert tables, and rules' own
/// SQL (`custom_sql`) through the store's `RuleQueryRunner`.
///
/// On SQLite, alert statements go through a connection of their own (the store's writer
/// connection belongs to the group-commit writer; WAL and the busy timeout let both write);
/// on PostgreSQL through the store's pool (`read` runs any single statement). `custom_sql`
/// runs where the database limits it: see `RuleQueryRunner` and docs/security-customsql.md.
public final class AlertDatabase: Sendable {
    public let store: any TelemetryStore
    public var dialect: SQLDialect { store.dialect }
    private let sqliteConnection: SQLiteConnection?
    private let threadPool: NIOThreadPool?
    /// Rules' own SQL, at most a few statements at once (previews and evaluations together).
    private let ruleQueries: any RuleQueryRunner
    let logger: Logger

    /// Opens what `store` needs (a connection on SQLite, the rule runner's connections), with
    /// at most `customSQLConcurrency` `custom_sql` statements at once. When the store cannot
    /// run `custom_sql` (PostgreSQL without a rules role), says so once, here.
    public static func open(store: any TelemetryStore, customSQLConcurrency: Int = 2, logger: Logger) async throws -> AlertDatabase {
        let ruleQueries = await store.ruleQueryRunner(maxConcurrent: customSQLConcurrency)
        if let reason = ruleQueries.unavailableReason {
            logger.warning("custom_sql rules are refused: \(reason)")
        }
        if let sqlite = store as? SQLiteStore {
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            do {
                let connection = try await SQLiteStore.openConnection(path: sqlite.path, threadPool: pool, logger: logger)
                return AlertDatabase(store: store, sqliteConnection: connection, threadPool: pool, ruleQueries: ruleQueries, logger: logger)
            } catch {
                try? await pool.shutdownGracefully()
                await ruleQueries.close()
                throw error
            }
        }
        return AlertDatabase(store: store, sqliteConnection: nil, threadPool: nil, ruleQueries: ruleQueries, logger: logger)
    }

    private init(store: any TelemetryStore, sqliteConnection: SQLiteConnection?, threadPool: NIOThreadPool?,
                 ruleQueries: any RuleQueryRunner, logger: Logger) {
        self.store = store
        self.sqliteConnection = sqliteConnection
        self.threadPool = threadPool
        self.ruleQueries = ruleQueries
        self.logger = logger
    }

    public func close() async {
        try? await sqliteConnection?.close()
        try? await threadPool?.shutdownGracefully()
        await ruleQueries.close()
    }

    /// A new builder for this store's dialect.
    func builder() -> SQLBuilder { SQLBuilder(dialect) }

    /// Runs one statement on the alert tables (a read, or a write with or without RETURNING).
    public func run(_ query: ReadQuery) async throws -> [ResultRow] {
        guard let connection = sqliteConnection else { return try await store.read(query) }
        let binds: [SQLiteData] = query.binds.map {
            switch $0 {
            case .null: .null
            case .int(let value): .integer(Int(value))
            case .double(let value): .float(value)
            case .text(let value): .text(value)
            case .bool(let value): .integer(value ? 1 : 0)
            }
        }
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(query.sql, binds)
        } catch {
            throw StoreError(operation: "alert statement", reason: "\(error)")
        }
        guard let first = rows.first else { return [] }
        let columns = first.columns.map(\.name)
        return rows.map { row in
            ResultRow(columns: columns, values: row.columns.map { column in
                switch column.data {
                case .null: .null
                case .integer(let value): .int(Int64(value))
                case .float(let value): .double(value)
                case .text(let value): .text(value)
                case .blob(let buffer): .text(String(buffer: buffer))
                }
            })
        }
    }

    // MARK: custom_sql

    /// Checks a `custom_sql` query without running it: the pre-check's friendly refusals, then
    /// the store compiles it as the rule would run (one read-only statement, one column, only
    /// what rules may read). Waits at most `wait` for a free slot.
    public func checkCustomSQL(_ sql: String, waitingAtMost wait: Duration = .zero) async throws(RuleQueryError) {
        if let problem = CustomSQLPrecheck.problem(in: sql) { throw .refused(problem) }
        try await ruleQueries.check(CustomSQLPrecheck.statement(sql), waitingAtMost: wait)
    }

    /// Runs a `custom_sql` query, cut off after `timeout`; its first column of its first row as
    /// a number (`nil`: no row or NULL). Waits at most `wait` for a free slot.
    public func runCustomSQL(_ sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double? {
        if let problem = CustomSQLPrecheck.problem(in: sql) { throw .refused(problem) }
        return try await ruleQueries.value(of: CustomSQLPrecheck.statement(sql), timeout: timeout, waitingAtMost: wait)
    }
}

import ServiceLifecycle

/// As a service, the database stays open until graceful shutdown (started after the store,
/// stopped before it), then closes its own connections.
extension AlertDatabase: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
