import Dispatch
import NIOPosix
import Synchronization
import VaporCSQLite

/// `custom_sql` on SQLite: each statement on a connection of its own (SQLite's C API as
/// sqlite-nio bundles it, with the `sqlite_nio_` prefix), with the store's file attached as
/// `enterprise`, `query_only`, and an authorizer (`SQLiteRulePolicy`) that allows nothing but
/// reads of the telemetry tables and calls of plain functions; so no other table, no catalog,
/// no pragma, no attach, no `load_extension`, `randomblob` or `zeroblob`.
///
/// Memory is bounded by `sqlite3_limit` (a value of at most 8 MiB, short statements, shallow
/// expressions), an 8 MiB page cache and temporary storage in files behind a 1 MiB cache;
/// time by `sqlite3_interrupt` at the deadline. (A progress handler would be the natural
/// clock, but sqlite-nio builds SQLite with `SQLITE_OMIT_PROGRESS_CALLBACK`.) At most
/// `slots.capacity` statements run at once, each on a thread of the runner's own pool.
final class SQLiteRuleQueryRunner: RuleQueryRunner {
    private let path: String
    private let slots: RuleQuerySlots
    private let threads: NIOThreadPool

    init(path: String, maxConcurrent: Int) {
        self.path = path
        self.slots = RuleQuerySlots(capacity: maxConcurrent)
        self.threads = NIOThreadPool(numberOfThreads: slots.capacity)
        threads.start()
    }

    var unavailableReason: String? { nil }

    func check(_ sql: String, waitingAtMost wait: Duration) async throws(RuleQueryError) {
        let path = path
        try await withSlot(wait) { () throws(RuleQueryError) in
            try SQLiteRuleConnection.open(path: path).withStatement(sql) { _ in }
        }
    }

    func value(of sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double? {
        let path = path
        return try await withSlot(wait) { () throws(RuleQueryError) in
            let connection = try SQLiteRuleConnection.open(path: path)
            return try connection.withStatement(sql) { statement throws(RuleQueryError) in
                try connection.firstValue(of: statement, timeout: timeout)
            }
        }
    }

    func close() async {
        try? await threads.shutdownGracefully()
    }

    /// Runs `body` on a thread of the pool while holding a slot.
    private func withSlot<T: Sendable>(_ wait: Duration, _ body: @escaping @Sendable () throws(RuleQueryError) -> T) async throws(RuleQueryError) -> T {
        guard await slots.acquire(waitingAtMost: wait) else { throw .busy }
        defer { slots.release() }
        do {
            return try await threads.runIfActive { try body() }
        } catch let error as RuleQueryError {
            throw error
        } catch {
            throw .failed("the store is closing")
        }
    }
}

/// What a rule's statement may do on SQLite, as the authorizer asks: a decision on names only.
enum SQLiteRulePolicy {
    static let readableTables = Set(RuleQueryTables.readable)

    /// Plain functions: aggregates and window functions, arithmetic, date and time, string
    /// basics and JSON reading. Not `random`, `randomblob`, `zeroblob`, `load_extension`,
    /// `fts3_tokenizer`, `sqlite_*`, nor the full-text functions.
    static let functions: Set<String> = [
        // aggregates and window functions
        "avg", "count", "group_concat", "string_agg", "max", "min", "sum", "total",
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
        "first_value", "last_value", "nth_value",
        // values and arithmetic
        "abs", "coalesce", "ifnull", "iif", "if", "nullif", "typeof", "round", "sign", "likely", "unlikely", "likelihood",
        "ceil", "ceiling", "floor", "exp", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "sqrt", "trunc",
        // strings
        "length", "octet_length", "lower", "upper", "trim", "ltrim", "rtrim", "substr", "substring", "replace", "instr",
        "like", "glob", "printf", "format", "char", "unicode", "hex", "quote", "concat", "concat_ws",
        // date and time
        "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
        "current_date", "current_time", "current_timestamp",
        // JSON
        "json", "json_extract", "->", "->>", "json_type", "json_valid", "json_array_length", "json_quote",
        "json_array", "json_object",
    ]

    /// Whether the authorizer allows `action` (an `SQLITE_*` action code) with its arguments:
    /// `first` and `second` are the 3rd and 4th arguments of the callback, `database` the 5th.
    /// `storedNames` are the lower-cased names of every table, view and virtual table module
    /// the connection could reach (`SQLiteRuleConnection.storedNames`).
    static func allows(action: Int32, first: String?, second: String?, database: String?, storedNames: Set<String>) -> Bool {
        switch action {
        case SQLITE_SELECT, SQLITE_RECURSIVE:
            return true
        case SQLITE_READ:
            guard let table = first?.lowercased() else { return false }
            guard let database else {
                // No database: a table the statement makes itself (`FROM r` of a recursive CTE),
                // or a stored one named without its database and none of its columns used
                // (`SELECT count(*) FROM alert_rules`). Only the first may pass, and the
                // telemetry tables however they are named.
                if readableTables.contains(table) { return true }
                return !(storedNames.contains(table) || table.hasPrefix("sqlite_") || table.hasPrefix("pragma_"))
            }
            return database.lowercased() == "enterprise" && readableTables.contains(table)
        case SQLITE_FUNCTION:
            guard let name = second?.lowercased() else { return false }
            return functions.contains(name)
        default:
            return false
        }
    }

    /// What was refused, in words: names from the query text (or the schema) only.
    static func describe(action: Int32, first: String?, second: String?, database: String?) -> String {
        switch action {
        case SQLITE_READ:
            let table = [database, first].compactMap { $0 }.joined(separator: ".")
            return "table \(table) (rules read only \(RuleQueryTables.readable.joined(separator: ", ")) in enterprise)"
        case SQLITE_FUNCTION: return "function \(second ?? "?")"
        case SQLITE_PRAGMA: return "pragma \(first ?? "?")"
        case SQLITE_ATTACH, SQLITE_DETACH: return "attach and detach"
        default: return "anything but reading (action \(action))"
        }
    }

    /// Each `(SQLITE_LIMIT_*, value)` set on a rule's connection.
    static let limits: [(Int32, Int32)] = [
        (SQLITE_LIMIT_LENGTH, 8 << 20),
        (SQLITE_LIMIT_SQL_LENGTH, 16_384),
        (SQLITE_LIMIT_COLUMN, 64),
        (SQLITE_LIMIT_EXPR_DEPTH, 64),
        (SQLITE_LIMIT_COMPOUND_SELECT, 16),
        (SQLITE_LIMIT_VDBE_OP, 50_000),
        (SQLITE_LIMIT_FUNCTION_ARG, 16),
        (SQLITE_LIMIT_ATTACHED, 1),
        (SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1_000),
        (SQLITE_LIMIT_VARIABLE_NUMBER, 16),
        (SQLITE_LIMIT_TRIGGER_DEPTH, 1),
        (SQLITE_LIMIT_WORKER_THREADS, 0),
    ]

    /// Set before the authorizer, which refuses every pragma afterwards.
    static let pragmas = [
        "PRAGMA query_only = ON",
        "PRAGMA trusted_schema = OFF",
        // Sorts, de-duplication and recursive queues spill to temporary files, not to memory.
        "PRAGMA temp_store = FILE",
        "PRAGMA temp.cache_size = -1024",
        "PRAGMA enterprise.cache_size = -8192",
    ]
}

/// The authorizer, a C function: it asks `SQLiteRulePolicy` with the names its connection's
/// `AuthorizerContext` (its user data) holds, and notes there the first refusal, for the error.
private let authorize: @convention(c) (
    UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?
) -> Int32 = { context, action, first, second, database, _ in
    guard let context else { return SQLITE_DENY }
    let state = Unmanaged<AuthorizerContext>.fromOpaque(context).takeUnretainedValue()
    let first = first.map { String(cString: $0) }, second = second.map { String(cString: $0) }
    let database = database.map { String(cString: $0) }
    if SQLiteRulePolicy.allows(action: action, first: first, second: second, database: database, storedNames: state.storedNames) {
        return SQLITE_OK
    }
    if state.refusal == nil { state.refusal = SQLiteRulePolicy.describe(action: action, first: first, second: second, database: database) }
    return SQLITE_DENY
}

/// What the authorizer knows and notes, used on the connection's thread only.
private final class AuthorizerContext {
    var storedNames: Set<String> = []
    /// What was refused first, while a statement compiled.
    var refusal: String?
}

/// One rule statement's connection: opened, used once and closed on one thread.
private final class SQLiteRuleConnection {
    private let handle: OpaquePointer
    private let authorizer = AuthorizerContext()

    private init(handle: OpaquePointer) { self.handle = handle }

    deinit { sqlite_nio_sqlite3_close_v2(handle) }

    static func open(path: String) throws(RuleQueryError) -> SQLiteRuleConnection {
        var handle: OpaquePointer?
        // Not SQLITE_OPEN_MEMORY: ATTACH inherits the flags, and the store file must be the real one.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        guard sqlite_nio_sqlite3_open_v2(":memory:", &handle, flags, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            throw .failed("cannot open SQLite")
        }
        let connection = SQLiteRuleConnection(handle: handle)
        sqlite_nio_sqlite3_busy_timeout(handle, 1000)
        try connection.setUp("ATTACH DATABASE ? AS enterprise", bind: path)
        for pragma in SQLiteRulePolicy.pragmas { try connection.setUp(pragma, bind: nil) }
        connection.authorizer.storedNames = try connection.storedNames()
        for (limit, value) in SQLiteRulePolicy.limits { sqlite_nio_sqlite3_limit(handle, limit, value) }
        // The connection (and with it the context) outlives every statement compiled on it.
        sqlite_nio_sqlite3_set_authorizer(handle, authorize, Unmanaged.passUnretained(connection.authorizer).toOpaque())
        return connection
    }

    /// Compiles `sql` (one statement; the authorizer decides what it may touch) and hands it
    /// to `body`.
    func withStatement<T>(_ sql: String, _ body: (OpaquePointer) throws(RuleQueryError) -> T) throws(RuleQueryError) -> T {
        var statement: OpaquePointer?
        var another: OpaquePointer?
        let (code, tailCode) = sql.withCString { text -> (Int32, Int32) in
            var tail: UnsafePointer<CChar>?
            let code = sqlite_nio_sqlite3_prepare_v2(handle, text, -1, &statement, &tail)
            guard code == SQLITE_OK, let tail else { return (code, SQLITE_OK) }
            // What follows may be only comments and semicolons: they compile to no statement.
            return (code, sqlite_nio_sqlite3_prepare_v2(handle, tail, -1, &another, nil))
        }
        defer {
            sqlite_nio_sqlite3_finalize(statement)
            sqlite_nio_sqlite3_finalize(another)
        }
        guard code == SQLITE_OK else { throw .refused(compileProblem(code)) }
        guard let statement else { throw .refused("must not be empty") }
        if another != nil || tailCode != SQLITE_OK { throw .refused("must be a single statement") }
        if sqlite_nio_sqlite3_stmt_readonly(statement) == 0 { throw .refused("must be read-only") }
        let columns = sqlite_nio_sqlite3_column_count(statement)
        if columns != 1 { throw .refused("must return one column, not \(columns)") }
        return try body(statement)
    }

    /// The first column of the first row as a number, interrupted at the deadline.
    func firstValue(of statement: OpaquePointer, timeout: Duration) throws(RuleQueryError) -> Double? {
        let deadline = Interrupter(handle: handle)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(min(seconds, 86_400)) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { deadline.fire() }
        let code = sqlite_nio_sqlite3_step(statement)
        deadline.disarm()
        switch code {
        case SQLITE_ROW:
            switch sqlite_nio_sqlite3_column_type(statement, 0) {
            case SQLITE_NULL:
                return nil
            case SQLITE_INTEGER, SQLITE_FLOAT:
                return sqlite_nio_sqlite3_column_double(statement, 0)
            case SQLITE_TEXT:
                // A number written as text counts; any other text is named by its kind only.
                let text = sqlite_nio_sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? ""
                guard let number = Double(text.trimmingSpaces) else { throw .failed("not a number") }
                return number
            default:
                throw .failed("not a number")
            }
        case SQLITE_DONE:
            return nil
        case SQLITE_INTERRUPT:
            throw .timedOut(timeout)
        default:
            // A message while running may quote a value (a JSON path, a cast): only the class.
            throw .failed(Self.errorClass(code))
        }
    }

    /// A compile error: SQLite's message for the errors that come from the query text alone
    /// (syntax, unknown names, what the authorizer refused), else the class.
    private func compileProblem(_ code: Int32) -> String {
        if code & 0xff == SQLITE_AUTH, let what = authorizer.refusal { return "not authorized: \(what)" }
        switch code & 0xff {
        case SQLITE_ERROR, SQLITE_AUTH:
            let message = sqlite_nio_sqlite3_errmsg(handle).map { String(cString: $0) } ?? "SQL error"
            return String(message.prefix(300))
        default:
            return Self.errorClass(code)
        }
    }

    /// `string or blob too big (SQLITE_TOOBIG)`: SQLite's fixed text for the code and its name.
    static func errorClass(_ code: Int32) -> String {
        let primary = code & 0xff
        let text = sqlite_nio_sqlite3_errstr(primary).map { String(cString: $0) } ?? "SQLite error"
        let names: [Int32: String] = [
            SQLITE_ERROR: "SQLITE_ERROR", SQLITE_INTERNAL: "SQLITE_INTERNAL", SQLITE_PERM: "SQLITE_PERM",
            SQLITE_ABORT: "SQLITE_ABORT", SQLITE_BUSY: "SQLITE_BUSY", SQLITE_LOCKED: "SQLITE_LOCKED",
            SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY", SQLITE_IOERR: "SQLITE_IOERR",
            SQLITE_CORRUPT: "SQLITE_CORRUPT", SQLITE_FULL: "SQLITE_FULL", SQLITE_CANTOPEN: "SQLITE_CANTOPEN",
            SQLITE_TOOBIG: "SQLITE_TOOBIG", SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT", SQLITE_MISMATCH: "SQLITE_MISMATCH",
            SQLITE_AUTH: "SQLITE_AUTH", SQLITE_RANGE: "SQLITE_RANGE",
        ]
        return "\(text) (\(names[primary] ?? "SQLite error \(primary)"))"
    }

    /// Every table, view and index name of the store and the connection's own databases, and
    /// every virtual table module (`json_each`, `dbstat`, …), lower-cased: read before the
    /// authorizer is set.
    private func storedNames() throws(RuleQueryError) -> Set<String> {
        var names: Set<String> = ["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"]
        let sql = """
            SELECT lower(name) FROM enterprise.sqlite_master UNION SELECT lower(name) FROM main.sqlite_master
            UNION SELECT lower(name) FROM pragma_module_list
            """
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            sqlite_nio_sqlite3_finalize(statement)
            throw .failed("cannot open the store (\(Self.errorClass(sqlite_nio_sqlite3_errcode(handle))))")
        }
        defer { sqlite_nio_sqlite3_finalize(statement) }
        while true {
            let code = sqlite_nio_sqlite3_step(statement)
            if code == SQLITE_DONE { return names }
            guard code == SQLITE_ROW else { throw .failed("cannot open the store (\(Self.errorClass(code)))") }
            if let text = sqlite_nio_sqlite3_column_text(statement, 0) { names.insert(String(cString: text)) }
        }
    }

    private func setUp(_ sql: String, bind: String?) throws(RuleQueryError) {
        var statement: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
            sqlite_nio_sqlite3_finalize(statement)
            throw .failed("cannot open the store (\(Self.errorClass(sqlite_nio_sqlite3_errcode(handle))))")
        }
        defer { sqlite_nio_sqlite3_finalize(statement) }
        if let bind {
            sqlite_nio_sqlite3_bind_text(statement, 1, bind, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        let code = sqlite_nio_sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw .failed("cannot open the store (\(Self.errorClass(code)))")
        }
    }
}

/// Interrupts the statement running on `handle` at its deadline, unless disarmed first (the
/// handle must not be used after it closes).
private final class Interrupter: @unchecked Sendable {
    private let handle: OpaquePointer
    private let armed = Mutex(true)

    init(handle: OpaquePointer) { self.handle = handle }

    func fire() {
        armed.withLock { armed in
            if armed { sqlite_nio_sqlite3_interrupt(handle) }
        }
    }

    func disarm() { armed.withLock { $0 = false } }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return text
    }
}
