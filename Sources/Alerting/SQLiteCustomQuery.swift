import Foundation
import Synchronization
import VaporCSQLite

/// `custom_sql` on SQLite: a connection of its own (SQLite's C API, as sqlite-nio bundles it),
/// because sqlite-nio offers neither `sqlite3_stmt_readonly` nor `sqlite3_interrupt`, the
/// two things this needs: proof at compile time that the statement is one read-only SELECT
/// with one column, and cancelling it at the deadline. The database is attached with
/// `query_only` set as well. Blocking: call it on a thread pool.
final class SQLiteCustomQuery: @unchecked Sendable {
    private let path: String

    init(path: String) { self.path = path }

    /// `nil` when `sql` compiles as one read-only statement with one column, else the problem.
    func check(_ sql: String) throws -> String? {
        try withDatabase { database in
            let (statement, problem) = prepare(sql, on: database)
            defer { sqlite_nio_sqlite3_finalize(statement) }
            return problem
        }
    }

    /// The first column of the first row, as a number; interrupted after `timeout`.
    func value(of sql: String, timeout: Duration) throws -> Double? {
        try withDatabase { database in
            let (statement, problem) = prepare(sql, on: database)
            defer { sqlite_nio_sqlite3_finalize(statement) }
            if let problem { throw CustomSQLError.refused(problem) }
            let watchdog = Watchdog(database: database)
            let deadline = DispatchTime.now() + .milliseconds(Int(timeout.seconds * 1000))
            DispatchQueue.global().asyncAfter(deadline: deadline) { watchdog.fire() }
            defer { watchdog.disarm() }
            let code = sqlite_nio_sqlite3_step(statement)
            switch code {
            case SQLITE_ROW:
                switch sqlite_nio_sqlite3_column_type(statement, 0) {
                case SQLITE_NULL: return nil
                case SQLITE_INTEGER, SQLITE_FLOAT: return sqlite_nio_sqlite3_column_double(statement, 0)
                default:
                    let text = sqlite_nio_sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
                    guard let number = Double(text.trimmingWhitespace) else {
                        throw CustomSQLError.failed("custom_sql returned \"\(text.prefix(40))\", not a number")
                    }
                    return number
                }
            case SQLITE_DONE:
                return nil
            case SQLITE_INTERRUPT:
                throw CustomSQLError.timedOut(timeout)
            default:
                throw CustomSQLError.failed(message(database))
            }
        }
    }

    private func prepare(_ sql: String, on database: OpaquePointer) -> (OpaquePointer?, String?) {
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let code = sql.withCString { text in
            let result = sqlite_nio_sqlite3_prepare_v2(database, text, -1, &statement, &tail)
            // Whatever follows the first statement may only be comments and semicolons.
            if result == SQLITE_OK, let tail, (CustomSQLGuard.tokens(of: String(cString: tail)) ?? ["?"]).contains(where: { $0 != ";" }) {
                return Int32(-1)
            }
            return result
        }
        if code == -1 { return (statement, "must be a single statement") }
        guard code == SQLITE_OK, let statement else { return (statement, "is not valid SQL: \(message(database))") }
        if sqlite_nio_sqlite3_stmt_readonly(statement) == 0 { return (statement, "must be read-only") }
        let columns = sqlite_nio_sqlite3_column_count(statement)
        if columns != 1 { return (statement, "must return one column, not \(columns)") }
        return (statement, nil)
    }

    private func withDatabase<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var database: OpaquePointer?
        // Not SQLITE_OPEN_MEMORY: ATTACH inherits the flags, and the store file must be the real one.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        guard sqlite_nio_sqlite3_open_v2(":memory:", &database, flags, nil) == SQLITE_OK, let database else {
            if let database { sqlite_nio_sqlite3_close(database) }
            throw CustomSQLError.failed("cannot open SQLite")
        }
        defer { sqlite_nio_sqlite3_close(database) }
        sqlite_nio_sqlite3_busy_timeout(database, 5000)
        try execute("ATTACH DATABASE ? AS enterprise", bind: path, on: database)
        try execute("PRAGMA query_only = ON", bind: nil, on: database)
        return try body(database)
    }

    private func execute(_ sql: String, bind: String?, on database: OpaquePointer) throws {
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw CustomSQLError.failed(message(database))
        }
        defer { sqlite_nio_sqlite3_finalize(statement) }
        if let bind {
            sqlite_nio_sqlite3_bind_text(statement, 1, bind, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        let code = sqlite_nio_sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw CustomSQLError.failed(message(database)) }
    }

    private func message(_ database: OpaquePointer) -> String {
        sqlite_nio_sqlite3_errmsg(database).map { String(cString: $0) } ?? "SQLite error"
    }
}

/// Interrupts a running statement at its deadline, unless disarmed first (the handle must not
/// be used after it closes).
private final class Watchdog: @unchecked Sendable {
    private let database: OpaquePointer
    private let armed = Mutex(true)

    init(database: OpaquePointer) { self.database = database }

    func fire() {
        armed.withLock { armed in
            if armed { sqlite_nio_sqlite3_interrupt(database) }
        }
    }

    func disarm() { armed.withLock { $0 = false } }
}
