import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresMigrations
import PostgresNIO
import ServiceLifecycle

/// The PostgreSQL store: the seed's `enterprise` schema, written through postgres-nio's
/// pooled `PostgresClient` (its `backgroundService`).
///
/// A write is one transaction with one statement per table, each binding whole columns as
/// arrays (`unnest`). Every write and probe has a time limit, so an unreachable server turns
/// into an error (the receiver's 503) rather than a hang; the pool reconnects by itself.
public final class PostgresStore: TelemetryStore {
    public let configuration: Configuration
    private let client: PostgresClient
    private let logger: Logger

    public var backgroundService: (any Service)? { client }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
    }

    @discardableResult
    public func migrate() async throws -> [String] {
        // Its own connection: migrations run before the pool's service is started.
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 0, logger: logger)
        } catch {
            throw StoreError(operation: "connect", reason: Self.describe(error))
        }
        defer { Task { try? await connection.close() } }
        do {
            // Replicas starting together migrate one at a time.
            try await connection.query("SELECT pg_advisory_lock(7468697201)", logger: logger)
            defer { Task { try? await connection.query("SELECT pg_advisory_unlock(7468697201)", logger: self.logger) } }
            try await connection.query("CREATE SCHEMA IF NOT EXISTS enterprise", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS enterprise.schema_migrations (
                    version TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: Set<String> = []
            for try await version in try await connection.query(
                "SELECT version FROM enterprise.schema_migrations", logger: logger).decode(String.self) {
                applied.insert(version)
            }
            var newlyApplied: [String] = []
            for migration in postgresMigrations where !applied.contains(migration.version) {
                try await connection.query("BEGIN", logger: logger)
                do {
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO enterprise.schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                logger.info("applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                newlyApplied.append(migration.version)
            }
            return newlyApplied
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "migrate", reason: Self.describe(error))
        }
    }

    public func write(_ batch: WriteBatch) async throws {
        guard !batch.isEmpty else { return }
        let traces = TraceRow.merging(batch.traces)
        do {
            try await withTimeLimit(configuration.writeTimeout) {
                try await self.client.withTransaction(logger: self.logger) { connection in
                    if !traces.isEmpty {
                        try await connection.query(PostgresStatements.upsertTraces(traces), logger: self.logger)
                    }
                    if !batch.spans.isEmpty {
                        try await connection.query(PostgresStatements.insertSpans(batch.spans), logger: self.logger)
                    }
                    if !batch.logs.isEmpty {
                        try await connection.query(PostgresStatements.insertLogs(batch.logs), logger: self.logger)
                    }
                }
            }
        } catch {
            throw StoreError(operation: "write", reason: Self.describe(error))
        }
    }

    public func ping() async throws {
        do {
            try await withTimeLimit(.seconds(2)) {
                try await self.client.query("SELECT 1", logger: self.logger)
            }
        } catch {
            throw StoreError(operation: "ping", reason: Self.describe(error))
        }
    }

    /// The pool stops with its service.
    public func close() async throws {}

    /// Error text for logs: the server's message and code, never the query's parameters.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(error.code): \(message) (\(error.serverInfo?[.sqlState] ?? "?"))"
            }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

struct TimeLimitExceeded: Error, CustomStringConvertible {
    var description: String { "time limit exceeded" }
}

/// Runs `body`, cancelling it and throwing `TimeLimitExceeded` after `limit`.
func withTimeLimit<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeLimitExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
