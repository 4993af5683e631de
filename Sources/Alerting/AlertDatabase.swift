import Foundation
import Logging
import NIOPosix
import PostgresNIO
import SQLiteNIO
import Store

/// The alert engine's access to the store: statements on the alert tables and `custom_sql`
/// in a read-only, time-limited transaction.
///
/// On SQLite, alert statements go through a connection of their own (the store's writer
/// connection belongs to the group-commit writer; WAL and the busy timeout let both write);
/// on PostgreSQL through the store's pool (`read` runs any single statement). `custom_sql`
/// runs on a connection of its own: a raw read-only SQLite handle with a progress deadline,
/// or a PostgreSQL connection in `START TRANSACTION READ ONLY` with `statement_timeout`.
public final class AlertDatabase: Sendable {
    public let store: any TelemetryStore
    public var dialect: SQLDialect { store.dialect }
    private let sqliteConnection: SQLiteConnection?
    private let sqlitePath: String?
    private let threadPool: NIOThreadPool?
    /// Threads for `custom_sql` on SQLite (blocking calls), apart from the connection's own.
    private let customSQLPool: NIOThreadPool?
    let logger: Logger

    /// Opens what `store` needs (a connection on SQLite).
    public static func open(store: any TelemetryStore, logger: Logger) async throws -> AlertDatabase {
        if let sqlite = store as? SQLiteStore {
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            let customSQLPool = NIOThreadPool(numberOfThreads: 2)
            customSQLPool.start()
            let connection = try await SQLiteStore.openConnection(path: sqlite.path, threadPool: pool, logger: logger)
            return AlertDatabase(store: store, sqliteConnection: connection, sqlitePath: sqlite.path, threadPool: pool,
                                 customSQLPool: customSQLPool, logger: logger)
        }
        return AlertDatabase(store: store, sqliteConnection: nil, sqlitePath: nil, threadPool: nil, customSQLPool: nil, logger: logger)
    }

    private init(store: any TelemetryStore, sqliteConnection: SQLiteConnection?, sqlitePath: String?, threadPool: NIOThreadPool?,
                 customSQLPool: NIOThreadPool?, logger: Logger) {
        self.store = store
        self.sqliteConnection = sqliteConnection
        self.sqlitePath = sqlitePath
        self.threadPool = threadPool
        self.customSQLPool = customSQLPool
        self.logger = logger
    }

    public func close() async {
        try? await sqliteConnection?.close()
        try? await threadPool?.shutdownGracefully()
        try? await customSQLPool?.shutdownGracefully()
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

    /// Checks a `custom_sql` query without running it: it must compile as one read-only
    /// statement with one result column. `nil` when fine, else the problem.
    public func checkCustomSQL(_ sql: String) async -> String? {
        if let problem = CustomSQLGuard.problem(in: sql) { return problem }
        let statement = CustomSQLGuard.statement(sql)
        if let sqlitePath, let customSQLPool {
            do {
                return try await customSQLPool.runIfActive {
                    try SQLiteCustomQuery(path: sqlitePath).check(statement)
                }
            } catch {
                return "cannot be checked (\(error))"
            }
        }
        guard let postgres = store as? PostgresStore else { return nil }
        do {
            // Planned, not executed (LIMIT 0): a scalar subquery refuses several columns.
            _ = try await runPostgresReadOnly(
                "SELECT (\n\(statement)\n)::double precision AS value LIMIT 0", configuration: postgres.configuration,
                timeout: .seconds(5))
            return nil
        } catch let error as CustomSQLError {
            return error.description
        } catch {
            return "is not valid: \(error)"
        }
    }

    /// Runs a `custom_sql` query read-only, cancelled after `timeout`; its first column of
    /// its first row as a number (`nil`: no row or NULL).
    public func runCustomSQL(_ sql: String, timeout: Duration) async throws -> Double? {
        if let problem = CustomSQLGuard.problem(in: sql) { throw CustomSQLError.refused(problem) }
        let statement = CustomSQLGuard.statement(sql)
        if let sqlitePath, let customSQLPool {
            return try await customSQLPool.runIfActive {
                try SQLiteCustomQuery(path: sqlitePath).value(of: statement, timeout: timeout)
            }
        }
        guard let postgres = store as? PostgresStore else { throw CustomSQLError.failed("unsupported store") }
        let rows = try await runPostgresReadOnly(
            "SELECT (\n\(statement)\n)::double precision AS value", configuration: postgres.configuration, timeout: timeout)
        return rows.first ?? nil
    }

    /// BEGIN READ ONLY, a statement timeout, `sql`, ROLLBACK, on a connection of its own.
    private func runPostgresReadOnly(_ sql: String, configuration: PostgresStore.Configuration, timeout: Duration) async throws -> [Double?] {
        let connection: PostgresConnection
        do {
            var connectionConfiguration = configuration.connectionConfiguration
            connectionConfiguration.options.connectTimeout = .seconds(3)
            connection = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: logger)
        } catch {
            throw CustomSQLError.failed("cannot connect")
        }
        defer { Task { try? await connection.close() } }
        let milliseconds = max(1, Int(timeout.seconds * 1000))
        do {
            try await connection.query("START TRANSACTION READ ONLY", logger: logger)
            // A number this process chose, not user input.
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(milliseconds)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = \(milliseconds)"), logger: logger)
            var values: [Double?] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                values.append(try row.decode(Double?.self))
            }
            try await connection.query("ROLLBACK", logger: logger)
            return values
        } catch let error as PSQLError {
            let state = error.serverInfo?[.sqlState]
            if state == "57014" { throw CustomSQLError.timedOut(timeout) }
            throw CustomSQLError.failed(error.serverInfo?[.message] ?? "\(error.code)")
        }
    }
}

/// Why a `custom_sql` query was refused or did not give a value.
public enum CustomSQLError: Error, Sendable, CustomStringConvertible, Equatable {
    case refused(String)
    case timedOut(Duration)
    case failed(String)

    public var description: String {
        switch self {
        case .refused(let problem): "custom_sql \(problem)"
        case .timedOut(let limit): "custom_sql cancelled after \(limit.seconds)s (statement timeout)"
        case .failed(let reason): reason
        }
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
