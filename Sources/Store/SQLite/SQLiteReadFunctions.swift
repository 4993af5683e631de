import SQLiteNIO
import VaporCSQLite

/// `REGEXP` (`SQLiteRegexp`) and `sightline_percentiles` (`SQLitePercentiles`) on a connection
/// opened through SQLite's C API (`SQLiteReadConnection`), where SQLiteNIO's `install` cannot
/// reach: the same functions, registered with `sqlite3_create_function_v2`.
enum SQLiteReadFunctions {
    static func install(on database: OpaquePointer) throws {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC
        var code = sqlite_nio_sqlite3_create_function_v2(database, "regexp", 2, flags, nil, regexp, nil, nil, nil)
        if code == SQLITE_OK {
            code = sqlite_nio_sqlite3_create_function_v2(
                database, "sightline_percentiles", 2, flags, nil, nil, percentilesStep, percentilesFinal, nil)
        }
        guard code == SQLITE_OK else {
            throw StoreError(operation: "open", reason: "cannot install the SQL functions (\(code))")
        }
    }

    private static let regexp: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { context, count, arguments in
        guard count == 2, let arguments else { return sqlite_nio_sqlite3_result_null(context) }
        do {
            switch try SQLiteRegexp.evaluate(pattern: data(arguments[0]), value: data(arguments[1])) {
            case .some(let matched): sqlite_nio_sqlite3_result_int64(context, Int64(matched))
            case .none: sqlite_nio_sqlite3_result_null(context)
            }
        } catch {
            sqlite_nio_sqlite3_result_error(context, "\(error)", -1)
        }
    }

    /// The aggregate's state lives in a retained object whose pointer SQLite keeps in the
    /// aggregate context; `percentilesFinal` releases it (SQLite calls it once per group, also
    /// when a statement stops early).
    private final class PercentilesState {
        var aggregate = SQLitePercentiles()
        var failed = false
    }

    private static func state(_ context: OpaquePointer?, create: Bool) -> Unmanaged<PercentilesState>? {
        let size = Int32(MemoryLayout<UnsafeMutableRawPointer?>.stride)
        guard let slot = sqlite_nio_sqlite3_aggregate_context(context, create ? size : 0) else { return nil }
        let pointer = slot.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        if let existing = pointer.pointee { return Unmanaged.fromOpaque(existing) }
        guard create else { return nil }
        let made = Unmanaged.passRetained(PercentilesState())
        pointer.pointee = made.toOpaque()
        return made
    }

    private static let percentilesStep: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = { context, count, arguments in
        guard let state = state(context, create: true)?.takeUnretainedValue() else {
            return sqlite_nio_sqlite3_result_error_nomem(context)
        }
        guard count == 2, let arguments, !state.failed else { return }
        do {
            try state.aggregate.step([data(arguments[0]), data(arguments[1])])
        } catch {
            state.failed = true
            sqlite_nio_sqlite3_result_error(context, "\(error)", -1)
        }
    }

    private static let percentilesFinal: @convention(c) (OpaquePointer?) -> Void = { context in
        // No row reached the aggregate: its answer over nothing.
        guard let state = state(context, create: false)?.takeRetainedValue() else {
            return result(SQLitePercentiles().finalizeText(), context)
        }
        guard !state.failed else { return }
        result(state.aggregate.finalizeText(), context)
    }

    private static func result(_ text: String, _ context: OpaquePointer?) {
        sqlite_nio_sqlite3_result_text(context, text, -1, sqliteTransient)
    }

    /// An argument as SQLiteNIO hands it to its custom functions.
    private static func data(_ value: OpaquePointer?) -> SQLiteData {
        switch sqlite_nio_sqlite3_value_type(value) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_value_int64(value)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_value_double(value))
        case SQLITE_TEXT: return .text(sqlite_nio_sqlite3_value_text(value).map { String(cString: $0) } ?? "")
        case SQLITE_BLOB:
            let length = Int(sqlite_nio_sqlite3_value_bytes(value))
            guard let bytes = sqlite_nio_sqlite3_value_blob(value), length > 0 else { return .blob(.init()) }
            return .blob(.init(bytes: UnsafeRawBufferPointer(start: bytes, count: length)))
        default: return .null
        }
    }
}
