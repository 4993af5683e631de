import Foundation
import Logging
import SQLiteMigrations
import SQLiteNIO

/// The embedded store: one SQLite file, attached as the database `enterprise` so the
/// tables have the same names as on PostgreSQL (`enterprise.traces`, ...).
///
/// The file runs in WAL mode with `synchronous=FULL`: a commit is on disk before `write`
/// returns. One connection writes; callers (the batch writer) serialise writes.
public final class SQLiteStore: TelemetryStore {
    public let path: String
    private let connection: SQLiteConnection
    private let logger: Logger

    /// Rows per multi-row INSERT statement.
    static let rowsPerStatement = 400

    private init(path: String, connection: SQLiteConnection, logger: Logger) {
        self.path = path
        self.connection = connection
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
        let connection = try await openConnection(path: path, logger: logger)
        return SQLiteStore(path: path, connection: connection, logger: logger)
    }

    /// A connection with `path` attached as `enterprise` and Sightline's pragmas set.
    public static func openConnection(path: String, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(storage: .memory, logger: logger)
        do {
            _ = try await connection.query("ATTACH DATABASE ? AS enterprise", [.text(path)])
            _ = try await connection.query("PRAGMA enterprise.journal_mode = WAL")
            _ = try await connection.query("PRAGMA enterprise.synchronous = FULL")
            _ = try await connection.query("PRAGMA busy_timeout = 10000")
            _ = try await connection.query("PRAGMA foreign_keys = ON")
        } catch {
            try? await connection.close()
            throw StoreError(operation: "open", reason: "\(path): \(error)")
        }
        return connection
    }

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
        guard !batch.isEmpty else { return }
        try await inTransaction {
            for chunk in TraceRow.merging(batch.traces).chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.upsertTraces(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            for chunk in batch.spans.chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.insertSpans(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
            for chunk in batch.logs.chunked(Self.rowsPerStatement) {
                _ = try await self.connection.query(SQLiteStatements.insertLogs(count: chunk.count), chunk.flatMap(\.sqliteBinds))
            }
        }
    }

    public func ping() async throws {
        _ = try await connection.query("SELECT 1")
    }

    public func close() async throws {
        try await connection.close()
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
