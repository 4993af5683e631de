import Foundation
import Logging
import SQLiteMigrations
import SQLiteNIO

/// The embedded store: one SQLite file, attached as the database `enterprise` so the
/// tables have the same names as on PostgreSQL (`enterprise.traces`, ...).
///
/// The file runs in WAL mode with `synchronous=FULL`: a commit is on disk before `write`
/// returns. One connection writes (callers, the batch writer, serialise writes); another
/// reads, so probes and queries never wait behind a commit. Both run on the store's own
/// threads, so a write blocked on a busy file cannot starve other SQLite users.
public final class SQLiteStore: TelemetryStore {
    public let path: String
    private let connection: SQLiteConnection
    private let reader: SQLiteConnection
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Rows per multi-row INSERT statement.
    static let rowsPerStatement = 400

    private init(path: String, connection: SQLiteConnection, reader: SQLiteConnection, threadPool: NIOThreadPool, logger: Logger) {
        self.path = path
        self.connection = connection
        self.reader = reader
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating when missing) the database file at `path` and its parent folder.
    public static func open(path: String, logger: Logger) async throws -> SQLiteStore {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError(operation: "open", reason: "cannot create folder \(folder): \(error)")
        }
        let threadPool = NIOThreadPool(numberOfThreads: 3)
        threadPool.start()
        do {
            let connection = try await openConnection(path: path, threadPool: threadPool, logger: logger)
            do {
                let reader = try await openConnection(path: path, threadPool: threadPool, logger: logger)
                return SQLiteStore(path: path, connection: connection, reader: reader, threadPool: threadPool, logger: logger)
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    /// A connection with `path` attached as `enterprise` and Sightline's pragmas set.
    public static func openConnection(path: String, threadPool: NIOThreadPool = .singleton, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .memory, threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            _ = try await connection.query("ATTACH DATABASE ? AS enterprise", [.text(path)])
            _ = try await connection.query("PRAGMA enterprise.journal_mode = WAL")
            _ = try await connection.query("PRAGMA enterprise.synchronous = FULL")
            _ = try await connection.query("PRAGMA busy_timeout = 10000")
            _ = try await connection.query("PRAGMA foreign_keys = ON")
            // A 64 MiB page cache (the default is 2 MiB) keeps the indexes of a busy ingest in
            // memory instead of spilling and re-reading pages on every group commit; statement
            // journals stay in memory too.
            _ = try await connection.query("PRAGMA enterprise.cache_size = -65536")
            _ = try await connection.query("PRAGMA temp_store = MEMORY")
            // `REGEXP` for the Grafana query endpoints' regular expressions.
            try await connection.install(customFunction: SQLiteRegexp.function)
            // Duration percentiles in one pass (the trace summary, alert latency rules).
            try await connection.install(customFunction: SQLitePercentiles.function)
        } catch {
            try? await connection.close()
            throw StoreError(operation: "open", reason: "\(path): \(error)")
        }
        return connection
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS enterprise.schema_migrations (
                version TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            )
            """)
        let rows = try await connection.query("SELECT version FROM enterprise.schema_migrations")
        let applied = Set(rows.compactMap { $0.column("version")?.string })
        var newlyApplied: [String] = []
        for migration in sqliteMigrations where !applied.contains(migration.version) {
            try await inTransaction {
                for statement in SQLScript.statements(in: migration.sql) {
                    _ = try await self.connection.query(statement)
                }
                _ = try await self.connection.query(
                    "INSERT INTO enterprise.schema_migrations (version, name) VALUES (?, ?)",
                    [.text(migration.version), .text(migration.name)])
            }
            logger.info("applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            newlyApplied.append(migration.version)
        }
        return newlyApplied
    }

    public func write(_ batch: WriteBatch) async throws {
        _ = try await commit(batch)
    }

    public func commit(_ batch: WriteBatch) async throws -> WriteBatch {
        guard !batch.isEmpty else { return batch }
        var added = batch
        try await inTransaction {
            for chunk in TraceRow.merging(batch.traces).chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.upsertTraces(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            var inserted: [SpanKey] = []
            for chunk in batch.spans.chunked(Self.rowsPerStatement) {
                let rows = try await self.connection.query(SQLiteStatements.insertSpans(count: chunk.count), chunk.flatMap(\.sqliteBinds))
                inserted += rows.map { SpanKey(traceID: $0.column("trace_id")?.string ?? "", spanID: $0.column("span_id")?.string ?? "") }
            }
            added = batch.keepingInserted(inserted)
            for chunk in added.llmCalls.chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.insertLLMCalls(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            for chunk in SpanOperationMinute.aggregate(added.spans).chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.upsertOperationMinutes(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            for chunk in batch.logs.chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.insertLogs(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            for chunk in LogLevelMinute.aggregate(batch.logs).chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.upsertLevelMinutes(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
        }
        return added
    }

    /// Reads the database file (through the reader, so a commit in progress does not delay it).
    public func ping() async throws {
        _ = try await reader.query("SELECT count(*) FROM enterprise.schema_migrations")
    }

    public var dialect: SQLDialect { .sqlite }

    public func read(_ query: ReadQuery) async throws -> [ResultRow] {
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
            rows = try await reader.query(query.sql, binds)
        } catch {
            throw StoreError(operation: "read", reason: "\(error)")
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

    public func close() async throws {
        try? await reader.close()
        try await connection.close()
        try await threadPool.shutdownGracefully()
    }

    private func inTransaction(_ body: () async throws -> Void) async throws {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            try await body()
            _ = try await connection.query("COMMIT")
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw StoreError(operation: "write", reason: "\(error)")
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
