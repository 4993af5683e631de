import Foundation
import Logging
import NIOCore
import PostgresNIO
import SQLiteNIO
import Store
import Synchronization

/// Which store a test runs against. Test code only: lets one suite run on both stores.
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }

    /// `SIGHTLINE_TEST_POSTGRES_URL`: a server where tests may create and drop databases.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["SIGHTLINE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// SQLite always; PostgreSQL when a test server is configured, and always under CI
    /// (where a missing server must fail the run, not skip it).
    public static var available: [StoreKind] {
        postgresURL != nil || ProcessInfo.processInfo.environment["CI"] == "true" ? [.sqlite, .postgres] : [.sqlite]
    }
}

/// A row read back for assertions, whatever the store: column name to a JSON-like value
/// (String, Int, Double, Bool, nested arrays/objects for PostgreSQL's jsonb, or NSNull).
public struct Row: @unchecked Sendable {
    public let values: [String: Any]

    public init(values: [String: Any]) { self.values = values }

    public func isNull(_ column: String) -> Bool { values[column] == nil || values[column] is NSNull }

    /// Text, or compact JSON text for jsonb values.
    public func string(_ column: String) -> String? {
        switch values[column] {
        case let text as String: return text
        case let value? where value is [Any] || value is [String: Any]:
            return (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]))
                .map { String(decoding: $0, as: UTF8.self) }
        default: return nil
        }
    }

    public func int(_ column: String) -> Int? {
        switch values[column] {
        case let number as Int: return number
        case let number as Int64: return Int(number)
        case let flag as Bool: return flag ? 1 : 0
        case let number as Double where number.rounded() == number: return Int(number)
        case let number as NSNumber: return number.intValue
        default: return nil
        }
    }

    public func double(_ column: String) -> Double? {
        switch values[column] {
        case let number as Double: return number
        case let number as Int: return Double(number)
        case let number as NSNumber: return number.doubleValue
        default: return nil
        }
    }

    /// A timestamp column as microseconds since the epoch (SQLite's text or PostgreSQL's timestamptz).
    public func microseconds(_ column: String) -> Int64? {
        guard let text = string(column) else { return nil }
        return Row.parseMicroseconds(text)
    }

    static func parseMicroseconds(_ text: String) -> Int64? {
        // 2023-11-14T22:13:20.1+00:00 or 2023-11-14T22:13:20.100000Z
        let pattern = /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)/
        guard let match = text.firstMatch(of: pattern) else { return nil }
        var components = DateComponents()
        components.timeZone = TimeZone(identifier: "UTC")
        components.year = Int(match.1); components.month = Int(match.2); components.day = Int(match.3)
        components.hour = Int(match.4); components.minute = Int(match.5); components.second = Int(match.6)
        guard let date = Calendar(identifier: .gregorian).date(from: components) else { return nil }
        var micros = Int64(date.timeIntervalSince1970) * 1_000_000
        if let fraction = match.7 {
            let digits = String(fraction.prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0)
            micros += Int64(digits) ?? 0
        }
        let zone = String(match.8)
        if zone != "Z" {
            let sign: Int64 = zone.hasPrefix("-") ? -1 : 1
            let digits = zone.dropFirst().replacingOccurrences(of: ":", with: "")
            let hours = Int64(digits.prefix(2)) ?? 0, minutes = Int64(digits.dropFirst(2)) ?? 0
            micros -= sign * (hours * 3600 + minutes * 60) * 1_000_000
        }
        return micros
    }
}

/// A logger that drops everything, for the code under test.
public let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh, empty database for one test: a file in a temporary folder, or a new database on
/// the PostgreSQL test server (dropped by `drop()`).
public struct TestDatabase: Sendable {
    public let kind: StoreKind
    /// `sqlite:PATH` or a `postgres://` URL, as Sightline's `--storage` takes it.
    public let storage: String
    private let databaseName: String?
    /// The PostgreSQL server's admin URL the database was created on (and is dropped from).
    private let serverURL: String?
    /// Whether `drop()` removes it (false for `existing(storage:)`).
    private var owned = true

    public static func create(_ kind: StoreKind) async throws -> TestDatabase {
        switch kind {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("sightline-test-\(UUID().uuidString)/sightline.db").path
            return TestDatabase(kind: kind, storage: "sqlite:\(path)", databaseName: nil, serverURL: nil)
        case .postgres:
            guard let url = StoreKind.postgresURL else {
                throw StoreError(operation: "test", reason: "SIGHTLINE_TEST_POSTGRES_URL is not set; the test command starts a throwaway PostgreSQL")
            }
            return try await create(postgresServer: url)
        }
    }

    /// A fresh database on the PostgreSQL server at `serverURL` (a URL whose user may create
    /// and drop databases), e.g. another throwaway server than `SIGHTLINE_TEST_POSTGRES_URL`'s.
    public static func create(postgresServer serverURL: String) async throws -> TestDatabase {
        let name = "sightline_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        _ = try await withAdminConnection(serverURL) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietLogger)
        }
        var components = URLComponents(string: serverURL)!
        components.path = "/\(name)"
        return TestDatabase(kind: .postgres, storage: components.string!, databaseName: name, serverURL: serverURL)
    }

    /// A database this test did not create (`storage` as `--storage` takes it): `drop()`
    /// leaves it alone.
    public static func existing(storage: String) -> TestDatabase {
        TestDatabase(kind: storage.hasPrefix("sqlite:") ? .sqlite : .postgres, storage: storage, databaseName: nil, serverURL: nil, owned: false)
    }

    /// The SQLite file's path (SQLite only).
    public var path: String { String(storage.dropFirst("sqlite:".count)) }

    /// Opens a store on this database (not migrated; PostgreSQL's pool must be run by the caller).
    public func openStore(readTimeLimit: Duration = ReadTimeLimit.default) async throws -> any TelemetryStore {
        switch kind {
        case .sqlite: return try await SQLiteStore.open(path: path, readTimeLimit: readTimeLimit, logger: quietLogger)
        case .postgres:
            return PostgresStore(configuration: try PostgresStore.Configuration(url: storage, readTimeout: readTimeLimit), logger: quietLogger)
        }
    }

    /// Runs `sql` (no parameters; tests use literals) on a separate connection.
    public func rows(_ sql: String) async throws -> [Row] {
        switch kind {
        case .sqlite:
            let connection = try await SQLiteStore.openConnection(path: path, logger: quietLogger)
            do {
                let rows = try await connection.query(sql).map { row in
                    Row(values: Dictionary(row.columns.map { column -> (String, Any) in
                        switch column.data {
                        case .integer(let value): (column.name, value)
                        case .float(let value): (column.name, value)
                        case .text(let value): (column.name, value)
                        case .blob(let value): (column.name, Array(buffer: value))
                        case .null: (column.name, NSNull())
                        }
                    }, uniquingKeysWith: { first, _ in first }))
                }
                try await connection.close().get()
                return rows
            } catch {
                try? await connection.close().get()
                throw error
            }
        case .postgres:
            return try await TestDatabase.withAdminConnection(storage) { connection in
                var rows: [Row] = []
                let query = PostgresQuery(unsafeSQL: "SELECT row_to_json(q)::text FROM (\(sql)) q")
                for try await json in try await connection.query(query, logger: quietLogger).decode(String.self) {
                    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
                    rows.append(Row(values: object))
                }
                return rows
            }
        }
    }

    public func count(_ table: String) async throws -> Int {
        try await rows("SELECT count(*) AS n FROM enterprise.\(table)").first?.int("n") ?? -1
    }

    /// Removes the database (PostgreSQL) or its folder (SQLite).
    public func drop() async {
        guard owned else { return }
        switch kind {
        case .sqlite:
            try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        case .postgres:
            guard let serverURL, let databaseName else { return }
            _ = try? await TestDatabase.withAdminConnection(serverURL) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)"), logger: quietLogger)
                // The role custom_sql logs in as is the cluster's, named after the database.
                let role = PostgresRulesRole.defaultName(database: databaseName)
                try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \(role)"), logger: quietLogger)
            }
        }
    }

    static func withAdminConnection<T>(_ url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = try PostgresStore.Configuration(url: url)
        let connection = try await PostgresConnection.connect(
            configuration: configuration.connectionConfiguration, id: 1, logger: quietLogger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// Runs `body` with a fresh database of `kind`, then drops it, awaited, whether `body`
/// returned or threw (the cleanup never outlives the test).
public func withTestDatabase<T>(_ kind: StoreKind, _ body: (TestDatabase) async throws -> T) async throws -> T {
    let database = try await TestDatabase.create(kind)
    do {
        let result = try await body(database)
        await database.drop()
        return result
    } catch {
        await database.drop()
        throw error
    }
}

/// Runs `body`, then `cleanup`, awaited, whether `body` returned or threw: what a test started
/// (a receiver, a connection) is stopped before the test ends, never by a task left behind.
public func withCleanup<T>(_ cleanup: () async -> Void, _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        await cleanup()
        return result
    } catch {
        await cleanup()
        throw error
    }
}

/// Runs `body` with a migrated store on a fresh database, its background service running,
/// then stops everything and drops the database.
public func withTestStore<T: Sendable>(
    _ kind: StoreKind,
    database existing: TestDatabase? = nil,
    readTimeLimit: Duration = ReadTimeLimit.default,
    _ body: @Sendable (any TelemetryStore, TestDatabase) async throws -> T
) async throws -> T {
    let database: TestDatabase
    if let existing { database = existing } else { database = try await TestDatabase.create(kind) }
    let store = try await database.openStore(readTimeLimit: readTimeLimit)
    do {
        try await store.migrate()
        let result = try await withThrowingTaskGroup(of: Void.self) { tasks -> T in
            if let service = store.backgroundService {
                tasks.addTask { try await service.run() }
            }
            defer { tasks.cancelAll() }
            return try await body(store, database)
        }
        try await store.close()
        if existing == nil { await database.drop() }
        return result
    } catch {
        try? await store.close()
        if existing == nil { await database.drop() }
        throw error
    }
}

/// Holds the store's write lock from another connection, so Sightline's writer waits as it
/// would behind a slow disk or a long transaction: SQLite's RESERVED lock on the file, or a
/// PostgreSQL lock on `enterprise.traces` (the writer's first table).
public struct WriteLock: Sendable {
    private let undo: @Sendable () async throws -> Void
    private let released = ReleaseFlag()

    private final class ReleaseFlag: Sendable {
        let done = Mutex(false)
    }

    private init(undo: @escaping @Sendable () async throws -> Void) { self.undo = undo }

    public static func take(on database: TestDatabase) async throws -> WriteLock {
        switch database.kind {
        case .sqlite:
            let connection = try await SQLiteConnection.open(storage: .file(path: database.path), logger: quietLogger)
            _ = try await connection.query("BEGIN IMMEDIATE")
            return WriteLock(undo: {
                // Closed through its future: sqlite-nio's async close gives up in a cancelled
                // task, and a connection deinitialised open stops a debug build.
                defer { _ = connection.close() }
                _ = try await connection.query("ROLLBACK")
            })
        case .postgres:
            let configuration = try PostgresStore.Configuration(url: database.storage)
            let connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 2, logger: quietLogger)
            try await connection.query("BEGIN", logger: quietLogger)
            try await connection.query("LOCK TABLE enterprise.traces IN EXCLUSIVE MODE", logger: quietLogger)
            return WriteLock(undo: {
                try await connection.query("ROLLBACK", logger: quietLogger)
                try await connection.close()
            })
        }
    }

    /// Runs `body` while holding the lock; releases it afterwards (awaited, whether `body`
    /// returned or threw) unless `body` released it itself.
    public static func holding<T>(on database: TestDatabase, _ body: (WriteLock) async throws -> T) async throws -> T {
        let lock = try await take(on: database)
        return try await withCleanup({ try? await lock.release() }) { try await body(lock) }
    }

    /// Releases the lock and closes its connection; once (later calls do nothing).
    public func release() async throws {
        guard released.done.withLock({ done in
            defer { done = true }
            return !done
        }) else { return }
        try await undo()
    }
}
