import Dispatch
import NIOPosix
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// A read-only connection for queries, through SQLite's C API (as `SQLiteWriteConnection`),
/// whose statements stop at a time limit.
///
/// The limit is enforced with `sqlite3_interrupt` from a timer: the SQLite that SQLiteNIO
/// links is built without progress callbacks (`SQLITE_OMIT_PROGRESS_CALLBACK`), and SQLiteNIO
/// offers no interrupt. SQLite checks for an interrupt at every loop of a statement's program
/// (and while sorting), so an interrupted statement ends within moments; only one call of a
/// function such as `REGEXP` on one value runs to its end first (`SQLiteRegexp.timeLimit`).
/// `PRAGMA query_only` refuses writes, except on the one connection alert statements write
/// through (`readOnly: false`). `REGEXP` and `sightline_percentiles` are installed as on every
/// other connection (`SQLiteReadFunctions`). Blocking: used on a thread pool, one statement at
/// a time.
final class SQLiteReadConnection: @unchecked Sendable {
    /// The handle and the running statement's deadline, shared with the timer's thread.
    private struct Watch: @unchecked Sendable {
        var database: OpaquePointer?
        var deadline: DispatchTime?
    }

    private let watch: Mutex<Watch>
    private let timer: DispatchSourceTimer

    private init(database: OpaquePointer) {
        self.watch = Mutex(Watch(database: database))
        self.timer = DispatchSource.makeTimerSource(queue: .global())
        timer.setEventHandler { [weak self] in self?.deadlineReached() }
        timer.resume()
    }

    /// Opens a connection with `path` attached as `enterprise`, `pragmas` run, then
    /// `query_only` set when `readOnly`.
    static func open(path: String, pragmas: [String], readOnly: Bool = true) throws -> SQLiteReadConnection {
        var database: OpaquePointer?
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI
        let opened = sqlite_nio_sqlite3_open_v2(":memory:", &database, flags, nil)
        guard opened == SQLITE_OK, let database else {
            if let database { sqlite_nio_sqlite3_close_v2(database) }
            throw StoreError(operation: "open", reason: "sqlite3_open_v2 failed (\(opened))")
        }
        let connection = SQLiteReadConnection(database: database)
        do {
            _ = try connection.rows(ReadQuery(sql: "ATTACH DATABASE ? AS enterprise", binds: [.text(path)]), limit: .seconds(60))
            for pragma in pragmas + (readOnly ? ["PRAGMA query_only = ON"] : []) {
                _ = try connection.rows(ReadQuery(sql: pragma), limit: .seconds(60))
            }
            try SQLiteReadFunctions.install(on: database)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Every row of `query`; stopped with `StoreError.Kind.timeLimitExceeded` once `limit` has passed.
    func rows(_ query: ReadQuery, limit: Duration) throws -> [ResultRow] {
        guard let database = watch.withLock({ $0.database }) else {
            throw StoreError(operation: "read", reason: "connection closed")
        }
        var prepared: OpaquePointer?
        let code = sqlite_nio_sqlite3_prepare_v2(database, query.sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let statement = prepared else {
            if let prepared { sqlite_nio_sqlite3_finalize(prepared) }
            throw failure(database, code)
        }
        defer { sqlite_nio_sqlite3_finalize(statement) }
        for (offset, value) in query.binds.enumerated() {
            let bound = sqliteBind(SQLiteData(value), at: Int32(offset + 1), in: statement)
            guard bound == SQLITE_OK else { throw failure(database, bound) }
        }
        let count = sqlite_nio_sqlite3_column_count(statement)
        let columns = (0..<count).map { index in
            sqlite_nio_sqlite3_column_name(statement, index).map { String(cString: $0) } ?? ""
        }
        arm(limit)
        defer { disarm() }
        var rows: [ResultRow] = []
        while true {
            let result = sqlite_nio_sqlite3_step(statement)
            if result == SQLITE_ROW {
                rows.append(ResultRow(columns: columns, values: (0..<count).map { Self.value(statement, $0) }))
            } else if result == SQLITE_DONE {
                return rows
            } else if result & 0xff == SQLITE_INTERRUPT {
                throw StoreError(operation: "read", reason: "stopped at its time limit (\(ReadTimeLimit.text(limit)))",
                                 kind: .timeLimitExceeded(limit))
            } else {
                throw failure(database, result)
            }
        }
    }

    /// Stops the timer and closes the handle; a statement must not be running.
    func close() {
        let database = watch.withLock { watch in
            defer { watch.database = nil }
            return watch.database
        }
        timer.cancel()
        if let database { sqlite_nio_sqlite3_close_v2(database) }
    }

    deinit {
        timer.cancel()
        if let database = watch.withLock({ $0.database }) { sqlite_nio_sqlite3_close_v2(database) }
    }

    private func arm(_ limit: Duration) {
        let (seconds, attoseconds) = limit.components
        let deadline = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        watch.withLock { $0.deadline = deadline }
        timer.schedule(deadline: deadline, leeway: .milliseconds(5))
    }

    private func disarm() {
        watch.withLock { $0.deadline = nil }
    }

    /// The timer fired: interrupts the statement if its deadline has passed (a firing meant for
    /// an earlier statement finds a later deadline, or none, and does nothing).
    private func deadlineReached() {
        watch.withLock { watch in
            guard let database = watch.database, let deadline = watch.deadline, DispatchTime.now() >= deadline else { return }
            sqlite_nio_sqlite3_interrupt(database)
        }
    }

    private func failure(_ database: OpaquePointer, _ code: Int32) -> StoreError {
        let message = sqlite_nio_sqlite3_errmsg(database).map { String(cString: $0) } ?? "error \(code)"
        return StoreError(operation: "read", reason: message)
    }

    /// A column as the query API sees it (blobs as UTF-8 text), as SQLiteNIO read it before.
    private static func value(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite_nio_sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .int(sqlite_nio_sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT:
            return .double(sqlite_nio_sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            return .text(sqlite_nio_sqlite3_column_text(statement, index).map { String(cString: $0) } ?? "")
        case SQLITE_BLOB:
            let length = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            guard let bytes = sqlite_nio_sqlite3_column_blob(statement, index), length > 0 else { return .text("") }
            return .text(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
        default:
            return .null
        }
    }
}

extension SQLiteData {
    init(_ value: SQLValue) {
        switch value {
        case .null: self = .null
        case .int(let number): self = .integer(Int(number))
        case .double(let number): self = .float(number)
        case .text(let text): self = .text(text)
        case .bool(let flag): self = .integer(flag ? 1 : 0)
        }
    }
}

/// Read connections of one kind, each read on a thread of their own pool (never the writer's
/// or the checkpointer's), admitted by a `ReadGate`: as many reads run at once as there are
/// connections, as many more wait, and any more are refused.
final class SQLiteReaders: Sendable {
    private let connections: [SQLiteReadConnection]
    private let idle: Mutex<[SQLiteReadConnection]>
    private let threadPool: NIOThreadPool
    private let gate: ReadGate
    let timeLimit: Duration

    private init(connections: [SQLiteReadConnection], threadPool: NIOThreadPool, gate: ReadGate, timeLimit: Duration) {
        self.connections = connections
        self.idle = Mutex(connections)
        self.threadPool = threadPool
        self.gate = gate
        self.timeLimit = timeLimit
    }

    /// `count` connections on `count` threads; each statement stops at `timeLimit`; up to
    /// `queueLimit` reads wait for a connection (each at most twice the limit and a second: a
    /// read that waits is behind reads that end within the limit). `readOnly: false` for the
    /// connection alert statements write through.
    static func open(path: String, pragmas: [String], count: Int, queueLimit: Int, timeLimit: Duration,
                     readOnly: Bool = true) async throws -> SQLiteReaders {
        let threadPool = NIOThreadPool(numberOfThreads: count)
        threadPool.start()
        do {
            let connections = try await threadPool.runIfActive {
                var opened: [SQLiteReadConnection] = []
                do {
                    for _ in 0..<count { opened.append(try SQLiteReadConnection.open(path: path, pragmas: pragmas, readOnly: readOnly)) }
                } catch {
                    for connection in opened { connection.close() }
                    throw error
                }
                return opened
            }
            let gate = ReadGate(slots: count, queueLimit: queueLimit, maxWait: timeLimit * 2 + .seconds(1))
            return SQLiteReaders(connections: connections, threadPool: threadPool, gate: gate, timeLimit: timeLimit)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    func read(_ query: ReadQuery) async throws -> [ResultRow] {
        do {
            return try await gate.run {
                try await threadPool.runIfActive {
                    // The gate admits as many reads as there are connections.
                    guard let connection = self.idle.withLock({ $0.popLast() }) else {
                        throw StoreError(operation: "read", reason: "no idle connection")
                    }
                    defer { self.idle.withLock { $0.append(connection) } }
                    return try connection.rows(query, limit: self.timeLimit)
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "read", reason: "\(error)")
        }
    }

    /// Waits for the reads in progress, then closes every connection.
    func close() async {
        try? await threadPool.shutdownGracefully()
        for connection in connections { connection.close() }
    }
}
