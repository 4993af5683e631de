import SQLiteNIO
import Synchronization
import VaporCSQLite

/// The connection group commits go through: SQLite's C API, on the store's thread pool, a whole
/// transaction per thread hop, one-row statements prepared once and kept.
///
/// `SQLiteConnection.query` prepares its statement on every call and runs each call in its own
/// hop, so the write path had used multi-row `INSERT … VALUES` statements of 400 rows: SQLite
/// parses 10,000 parameters, keeps a statement journal (a statement writing many rows may have
/// to undo them), and the next chunk's parameters are built while the SQLite thread waits.
/// Stepping a prepared one-row statement per row is the way SQLite loads fastest (the raw
/// baseline's `executemany`); `sqlite3_changes` says whether a row was inserted, where the
/// multi-row statement needed `RETURNING`.
///
/// The library is the one SQLiteNIO links (its symbols carry the `sqlite_nio_` prefix): two
/// copies of SQLite in one process would not see each other's file locks.
final class SQLiteWriteConnection: Sendable {
    private let handle: Handle
    private let threadPool: NIOThreadPool
    /// One transaction at a time; held for the whole hop.
    private let lock = Mutex(())

    /// The raw connection and its statements; touched only with `lock` held, on a pool thread.
    fileprivate final class Handle: @unchecked Sendable {
        var database: OpaquePointer?
        var statements: [String: OpaquePointer] = [:]
        /// The statement run last: a commit runs one statement for many rows in a row, and
        /// comparing the same string is one pointer check where the dictionary hashes the
        /// whole SQL text (2% of an ingest profile).
        var last: (sql: String, statement: OpaquePointer)?
    }

    private init(handle: Handle, threadPool: NIOThreadPool) {
        self.handle = handle
        self.threadPool = threadPool
    }

    /// Opens a connection with `path` attached as `enterprise` and the writer's pragmas
    /// (`SQLiteStore.writerPragmas`).
    static func open(path: String, pragmas: [String], threadPool: NIOThreadPool) async throws -> SQLiteWriteConnection {
        let handle = Handle()
        try await threadPool.runIfActive {
            var database: OpaquePointer?
            let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
            let opened = sqlite_nio_sqlite3_open_v2(":memory:", &database, flags, nil)
            guard opened == SQLITE_OK, let database else {
                if let database { sqlite_nio_sqlite3_close_v2(database) }
                throw StoreError(operation: "open", reason: "sqlite3_open_v2 failed (\(opened))")
            }
            handle.database = database
        }
        let connection = SQLiteWriteConnection(handle: handle, threadPool: threadPool)
        do {
            try await connection.transactionless { session in
                try session.run("ATTACH DATABASE ? AS enterprise", [.text(path)])
                for pragma in pragmas { try session.execute(pragma) }
            }
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` on a pool thread; rolls back when it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await transactionless { session in
            try session.execute("BEGIN IMMEDIATE")
            do {
                let result = try body(session)
                try session.execute("COMMIT")
                return result
            } catch {
                try? session.execute("ROLLBACK")
                throw error
            }
        }
    }

    private func transactionless<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await threadPool.runIfActive {
            try self.lock.withLock { _ in
                guard self.handle.database != nil else { throw StoreError(operation: "write", reason: "connection closed") }
                return try body(Session(handle: self.handle))
            }
        }
    }

    /// Finalizes the statements and closes the connection.
    func close() async {
        try? await threadPool.runIfActive {
            self.lock.withLock { _ in
                let handle = self.handle
                for statement in handle.statements.values { sqlite_nio_sqlite3_finalize(statement) }
                handle.statements = [:]
                handle.last = nil
                if let database = handle.database { sqlite_nio_sqlite3_close_v2(database) }
                handle.database = nil
            }
        }
    }

    /// Statements inside one hop.
    struct Session {
        fileprivate let handle: Handle

        /// Runs SQL without parameters (pragmas, `BEGIN`, `COMMIT`).
        func execute(_ sql: String) throws {
            var message: UnsafeMutablePointer<CChar>?
            let result = sqlite_nio_sqlite3_exec(handle.database, sql, nil, nil, &message)
            defer { if let message { sqlite_nio_sqlite3_free(message) } }
            guard result == SQLITE_OK else {
                throw StoreError(operation: "write", reason: message.map { String(cString: $0) } ?? "error \(result)")
            }
        }

        /// Runs the prepared (and kept) statement `sql` once with `binds`; returns the rows it
        /// changed (for `INSERT … ON CONFLICT DO NOTHING`: 1 when inserted, 0 when not).
        @discardableResult
        func run(_ sql: String, _ binds: [SQLiteData]) throws -> Int {
            try bound(sql, binds) { statement in
                var result = sqlite_nio_sqlite3_step(statement)
                while result == SQLITE_ROW { result = sqlite_nio_sqlite3_step(statement) }
                try check(result == SQLITE_DONE ? SQLITE_OK : result)
                return Int(sqlite_nio_sqlite3_changes(handle.database))
            }
        }

        /// Runs the prepared statement `sql` with `binds`; the first column of its first row as
        /// an integer, nil when it returns no row.
        func integer(_ sql: String, _ binds: [SQLiteData]) throws -> Int64? {
            try bound(sql, binds) { statement in
                let result = sqlite_nio_sqlite3_step(statement)
                if result == SQLITE_DONE { return nil }
                guard result == SQLITE_ROW else { try check(result); return nil }
                return sqlite_nio_sqlite3_column_int64(statement, 0)
            }
        }

        /// Runs the prepared statement `sql` with `binds`, handing each row's statement to `read`
        /// (which reads its columns with `sqlite3_column_*`).
        func each(_ sql: String, _ binds: [SQLiteData], _ read: (OpaquePointer) throws -> Void) throws {
            try bound(sql, binds) { statement in
                var result = sqlite_nio_sqlite3_step(statement)
                while result == SQLITE_ROW {
                    try read(statement)
                    result = sqlite_nio_sqlite3_step(statement)
                }
                try check(result == SQLITE_DONE ? SQLITE_OK : result)
            }
        }

        /// The prepared (and kept) statement `sql` with `binds` bound, for `body` to step;
        /// reset and its bindings cleared afterwards, ready for the next use.
        private func bound<T>(_ sql: String, _ binds: [SQLiteData], _ body: (OpaquePointer) throws -> T) throws -> T {
            let statement = try prepared(sql)
            defer {
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_clear_bindings(statement)
            }
            for (offset, value) in binds.enumerated() {
                try check(sqliteBind(value, at: Int32(offset + 1), in: statement))
            }
            return try body(statement)
        }

        private func prepared(_ sql: String) throws -> OpaquePointer {
            if let last = handle.last, last.sql == sql { return last.statement }
            if let statement = handle.statements[sql] {
                handle.last = (sql, statement)
                return statement
            }
            var statement: OpaquePointer?
            try check(sqlite_nio_sqlite3_prepare_v3(handle.database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil))
            guard let statement else { throw StoreError(operation: "write", reason: "empty statement") }
            handle.statements[sql] = statement
            handle.last = (sql, statement)
            return statement
        }

        private func check(_ result: Int32) throws {
            guard result == SQLITE_OK else {
                let message = sqlite_nio_sqlite3_errmsg(handle.database).map { String(cString: $0) } ?? "error \(result)"
                throw StoreError(operation: "write", reason: message)
            }
        }
    }
}

/// SQLite copies the value before the bind call returns (`SQLITE_TRANSIENT`).
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Binds `value` to parameter `index` (from 1) of `statement`; SQLite's result code.
func sqliteBind(_ value: SQLiteData, at index: Int32, in statement: OpaquePointer) -> Int32 {
    switch value {
    case .null:
        return sqlite_nio_sqlite3_bind_null(statement, index)
    case .integer(let number):
        return sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
    case .float(let number):
        return sqlite_nio_sqlite3_bind_double(statement, index, number)
    case .text(var text):
        // Not through `withCString`, which copies; a nil pointer would bind NULL.
        return text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                return "".withCString { sqlite_nio_sqlite3_bind_text64(statement, index, $0, 0, sqliteTransient, UInt8(SQLITE_UTF8)) }
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite_nio_sqlite3_bind_text64(statement, index, $0, UInt64(bytes.count), sqliteTransient, UInt8(SQLITE_UTF8))
            }
        }
    case .blob(let buffer):
        return buffer.withUnsafeReadableBytes { bytes in
            sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), sqliteTransient)
        }
    }
}
