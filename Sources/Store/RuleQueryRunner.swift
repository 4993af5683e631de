import Synchronization

/// Runs the SQL of alert rules (`custom_sql`) inside limits that the database itself enforces,
/// whatever the text says: on PostgreSQL a login of its own that may read only the telemetry
/// tables (`PostgresRuleQueryRunner`), on SQLite an authorizer that allows only reads of those
/// tables and a list of plain functions (`SQLiteRuleQueryRunner`). Both cut a statement off at
/// its time limit and run at most a few statements at once, a bound shared by previews and
/// evaluations. What a rule can see on each store: docs/security-customsql.md.
///
/// Errors never carry data: a `RuleQueryError` holds identifiers from the query text at most.
public protocol RuleQueryRunner: Sendable {
    /// Compiles `sql` without running it: one read-only statement with one result column that
    /// reads only what rules may read. Waits at most `wait` for a free slot (`.busy` after).
    func check(_ sql: String, waitingAtMost wait: Duration) async throws(RuleQueryError)

    /// Runs `sql`, cut off after `timeout`, and returns the first column of its first row as a
    /// number (`nil`: no row, or NULL). Waits at most `wait` for a free slot (`.busy` after).
    func value(of sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double?

    /// Why rules' SQL cannot run on this store, when it cannot (said once at start-up).
    var unavailableReason: String? { get }

    /// Closes its connections and threads.
    func close() async
}

/// The tables a rule's SQL may read, all in the schema (or attached database) `enterprise`:
/// the telemetry, never the alert tables (rules and their destinations, instances,
/// notification attempts), `schema_migrations` or the catalog.
public enum RuleQueryTables {
    public static let readable: [String] = [
        "traces", "trace_spans", "structured_logs",
        "request_metrics", "system_metrics", "llm_call_metrics", "rag_metrics", "cache_metrics",
        "span_operation_minutes", "log_level_minutes", "resources", "scopes",
    ]
}

/// Why a rule's SQL was refused or gave no value. The description starts with `custom_sql:`
/// (the field it is about) and never holds a value from a row or a file: database messages
/// pass only when they can hold nothing but names from the query text; anything else becomes
/// its error class (`invalid text representation (SQLSTATE 22P02)`, `SQLITE_TOOBIG`).
public enum RuleQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not acceptable (the problem, for a 400).
    case refused(String)
    /// It ran and failed (the error class, for `last_error` or a 422).
    case failed(String)
    /// It ran past its time limit and was cancelled.
    case timedOut(Duration)
    /// Every slot was taken for as long as the caller would wait.
    case busy
    /// This store cannot run rules' SQL now (the reason names the setting to fix).
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let problem), .failed(let problem): "custom_sql: \(problem)"
        case .timedOut(let limit): "custom_sql: timed out after \(Self.seconds(limit)) s"
        case .busy: "custom_sql: too many custom_sql statements are running; retry later"
        case .unavailable(let reason): "custom_sql: not available on this server: \(reason)"
        }
    }

    /// `5`, `0.5`: whole seconds without a fraction.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return String(seconds) }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String((value * 1000).rounded() / 1000)
    }
}

/// A runner for stores that cannot run rules' SQL.
struct UnavailableRuleQueryRunner: RuleQueryRunner {
    let reason: String

    func check(_ sql: String, waitingAtMost wait: Duration) async throws(RuleQueryError) { throw .unavailable(reason) }

    func value(of sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double? {
        throw .unavailable(reason)
    }

    var unavailableReason: String? { reason }

    func close() async {}
}

/// At most `capacity` rule statements at once; a caller waits for a slot in arrival order, up
/// to its own limit.
final class RuleQuerySlots: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Statements holding a slot now.
    var running: Int { state.withLock { $0.running } }

    /// Takes a slot, waiting at most `wait`; `false` when none came free in time (or the task
    /// was cancelled). Each `true` must be followed by one `release()`.
    func acquire(waitingAtMost wait: Duration) async -> Bool {
        let immediate: Bool? = state.withLock { state in
            if state.running < capacity, state.waiting.isEmpty {
                state.running += 1
                return true
            }
            return wait > .zero ? nil : false
        }
        if let immediate { return immediate }
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let waiting = state.withLock { state -> Bool in
                    // Cancelled, or a slot came free, before this waiter was queued.
                    if Task.isCancelled { return false }
                    if state.running < capacity, state.waiting.isEmpty {
                        state.running += 1
                        continuation.resume(returning: true)
                        return true
                    }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                guard waiting else {
                    continuation.resume(returning: false)
                    return
                }
                Task {
                    try? await Task.sleep(for: wait)
                    self.giveUp(id)
                }
            }
        } onCancel: {
            giveUp(id)
        }
    }

    /// Frees a slot: the longest waiter takes it over.
    func release() {
        let next: Waiter? = state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    /// Takes waiter `id` out of the queue (its time is up), if it is still there.
    private func giveUp(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiting.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }
}
