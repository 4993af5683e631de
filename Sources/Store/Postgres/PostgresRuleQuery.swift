import Foundation
import Logging
import PostgresNIO
import Synchronization

/// `custom_sql` on PostgreSQL: statements run on connections of their own that log in as the
/// rules role (`PostgresRulesRole`), which may read the telemetry tables and nothing else
/// Sightline keeps. Each statement runs in `START TRANSACTION READ ONLY` with its own
/// `statement_timeout` and `lock_timeout`, wrapped as `SELECT (<query>)::double precision`, and
/// is rolled back; `DISCARD ALL` then drops whatever the session picked up (settings, advisory
/// locks) before the connection is used again. A client-side deadline a little past the time
/// limit closes a connection whose server does not answer; a connection that failed in any way
/// but a plain SQL error is closed, not reused.
///
/// At most `slots.capacity` statements run at once, and as many connections stay open.
/// Every new connection first proves that its login is the narrow role it should be (not a
/// superuser, no other table of `enterprise` readable); if not, rules' SQL is refused until
/// Sightline restarts with a proper role.
final class PostgresRuleQueryRunner: RuleQueryRunner {
    private enum Login {
        case ready(PostgresConnection.Configuration, role: String)
        case unavailable(String)
    }

    private let login: Mutex<Login>
    private let slots: RuleQuerySlots
    private let idle = Mutex<[PostgresConnection]>([])
    private let closed = Mutex(false)
    private let nextID = Atomic<Int>(1000)
    private let logger: Logger

    /// Time past a statement's limit before the client gives up on the server.
    static let clientGrace: Duration = .seconds(2)

    private init(login: Login, maxConcurrent: Int, logger: Logger) {
        self.login = Mutex(login)
        self.slots = RuleQuerySlots(capacity: maxConcurrent)
        self.logger = logger
    }

    /// The runner for `configuration`'s database: logs in with `SIGHTLINE_RULES_STORAGE` when
    /// set, else as the default rules role with the password Sightline keeps for it (read here
    /// on a connection of Sightline's own). Unavailable, with the reason, when there is neither.
    static func open(configuration: PostgresStore.Configuration, maxConcurrent: Int, logger: Logger) async -> PostgresRuleQueryRunner {
        let role = PostgresRulesRole(configuration: configuration)
        let login: Login
        if let url = configuration.rulesURL {
            do {
                let rules = try PostgresStore.Configuration(url: url, tls: configuration.tls)
                login = .ready(connectionConfiguration(rules), role: rules.username)
            } catch {
                login = .unavailable("SIGHTLINE_RULES_STORAGE: \(error.reason)")
            }
        } else {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: 0, logger: logger)
                let stored: String?
                do {
                    stored = try await PostgresRulesRole.storedPassword(role: role.name, on: connection, logger: logger, create: false)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                if let password = stored {
                    var rules = configuration
                    rules.username = role.name
                    rules.password = password
                    login = .ready(connectionConfiguration(rules), role: role.name)
                } else {
                    login = .unavailable("Sightline's PostgreSQL user may not create the role \(role.name); an administrator runs "
                        + "the SQL that `sightline migrate --print-rules-role-sql` prints and sets SIGHTLINE_RULES_STORAGE "
                        + "(docs/security-customsql.md)")
                }
            } catch {
                login = .unavailable("cannot read the rules role's login (\(PostgresStore.describe(error)))")
            }
        }
        let runner = PostgresRuleQueryRunner(login: login, maxConcurrent: maxConcurrent, logger: logger)
        // One connection now: a role that is wrong is found (and said) at start-up.
        if case .ready = login {
            do {
                let connection = try await runner.connect()
                await runner.recycle(connection)
            } catch {
                if case .unavailable = error {} else {
                    logger.warning("custom_sql: cannot connect as the rules role yet", metadata: ["error": "\(error)"])
                }
            }
        }
        return runner
    }

    /// Rules connections: the role's own settings, and a name that tells them apart.
    private static func connectionConfiguration(_ configuration: PostgresStore.Configuration) -> PostgresConnection.Configuration {
        var connection = configuration.connectionConfiguration
        connection.options.connectTimeout = .seconds(3)
        connection.options.additionalStartupParameters = [("application_name", "sightline-rules")]
        return connection
    }

    var unavailableReason: String? {
        login.withLock { login in
            if case .unavailable(let reason) = login { return reason }
            return nil
        }
    }

    func check(_ sql: String, waitingAtMost wait: Duration) async throws(RuleQueryError) {
        // Planned and its permissions checked, not executed (LIMIT 0); a scalar subquery
        // refuses several columns.
        do {
            _ = try await run("SELECT (\n\(Self.trimmed(sql))\n)::double precision AS value LIMIT 0", timeout: .seconds(5), wait: wait)
        } catch .failed(let problem) {
            throw .refused(problem)
        }
    }

    func value(of sql: String, timeout: Duration, waitingAtMost wait: Duration) async throws(RuleQueryError) -> Double? {
        try await run("SELECT (\n\(Self.trimmed(sql))\n)::double precision AS value", timeout: timeout, wait: wait)
    }

    func close() async {
        let connections = closed.withLock { closed in
            closed = true
            return idle.withLock { idle in
                defer { idle = [] }
                return idle
            }
        }
        for connection in connections { try? await connection.close() }
    }

    /// `statement` on a rules connection, in a read-only transaction limited to `timeout`.
    private func run(_ statement: String, timeout: Duration, wait: Duration) async throws(RuleQueryError) -> Double? {
        if let reason = unavailableReason { throw .unavailable(reason) }
        guard await slots.acquire(waitingAtMost: wait) else { throw .busy }
        var releaseNow = true
        defer { if releaseNow { slots.release() } }
        let connection = try await connect()
        let logger = logger
        let milliseconds = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            let value = try await withTimeLimit(timeout + Self.clientGrace) {
                try await Self.execute(statement, milliseconds: milliseconds, on: connection, logger: logger)
            }
            await recycle(connection)
            return value
        } catch let error as PSQLError where error.code == .server {
            await reset(connection)
            logger.debug("custom_sql failed", metadata: ["error": "\(PostgresStore.describe(error))"])
            throw Self.ruleError(sqlState: error.serverInfo?[.sqlState], message: error.serverInfo?[.message],
                                 hasPosition: error.serverInfo?[.position] != nil, timeout: timeout)
        } catch is TimeLimitExceeded {
            await discard(connection)
            // The server may still be running the statement until its own time limit (armed
            // when it began, before this deadline): its slot stays taken that long, so the
            // bound holds for what the server runs, not only for what the client waits on.
            releaseNow = false
            let slots = slots
            Task {
                try? await Task.sleep(for: timeout)
                slots.release()
            }
            throw .timedOut(timeout)
        } catch {
            await discard(connection)
            logger.debug("custom_sql connection failed", metadata: ["error": "\(PostgresStore.describe(error))"])
            throw .failed("the connection to PostgreSQL failed")
        }
    }

    private static func execute(_ statement: String, milliseconds: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Double? {
        try await PostgresStore.run("START TRANSACTION READ ONLY", on: connection, logger: logger)
        let limit = String(milliseconds)
        try await PostgresStore.run(
            "SELECT set_config('statement_timeout', \(limit), true), set_config('lock_timeout', \(limit), true), set_config('idle_in_transaction_session_timeout', \(limit), true)",
            on: connection, logger: logger)
        var value: Double?
        var first = true
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).decode(Double?.self) {
            if first { value = row }
            first = false
        }
        try await PostgresStore.run("ROLLBACK", on: connection, logger: logger)
        try await PostgresStore.run("DISCARD ALL", on: connection, logger: logger)
        return value
    }

    /// An idle connection, or a new one whose login has proved to be a narrow role.
    private func connect() async throws(RuleQueryError) -> PostgresConnection {
        if let connection = idle.withLock({ $0.popLast() }) { return connection }
        guard case .ready(let configuration, let role) = login.withLock({ $0 }) else { throw .unavailable(unavailableReason ?? "") }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: configuration, id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, logger: logger)
        } catch {
            logger.debug("custom_sql cannot connect", metadata: ["postgres.role": "\(role)", "error": "\(PostgresStore.describe(error))"])
            throw .failed("cannot connect to PostgreSQL as the rules role \(role)")
        }
        let problem: String?
        do {
            problem = try await withTimeLimit(.seconds(5)) { try await Self.privilegeProblem(on: connection, logger: self.logger) }
        } catch {
            await discard(connection)
            throw .failed("cannot connect to PostgreSQL as the rules role \(role)")
        }
        if let problem {
            await discard(connection)
            let reason = "the rules role \(role) \(problem); it must read only the telemetry tables (docs/security-customsql.md)"
            // Said with every refusal; the alert engine also logs it once at start-up.
            login.withLock { $0 = .unavailable(reason) }
            throw .unavailable(reason)
        }
        return connection
    }

    /// What the connection's login may do beyond reading the telemetry tables, if anything.
    private static func privilegeProblem(on connection: PostgresConnection, logger: Logger) async throws -> String? {
        let query: PostgresQuery = """
            SELECT r.rolsuper OR r.rolbypassrls,
                   coalesce((SELECT min(c.relname::text)
                             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'enterprise' AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                               AND NOT (c.relname = ANY (\(RuleQueryTables.readable))) AND has_table_privilege(c.oid, 'SELECT')), ''),
                   coalesce((SELECT min(g.rolname::text) FROM pg_catalog.pg_roles g
                             WHERE g.rolname IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',
                                                 'pg_read_all_data', 'pg_write_all_data', 'pg_signal_backend')
                               AND pg_has_role(r.oid, g.oid, 'USAGE')), '')
            FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
            """
        for try await (privileged, table, role) in try await connection.query(query, logger: logger).decode((Bool, String, String).self) {
            if privileged { return "is a superuser or bypasses row security" }
            if !table.isEmpty { return "can read enterprise.\(table)" }
            if !role.isEmpty { return "is a member of \(role)" }
            return nil
        }
        return "cannot be found in pg_roles"
    }

    /// Back to the idle list (closed instead once the runner is).
    private func recycle(_ connection: PostgresConnection) async {
        let keep = closed.withLock { closed in
            guard !closed, !connection.isClosed else { return false }
            return idle.withLock { idle in
                guard idle.count < slots.capacity else { return false }
                idle.append(connection)
                return true
            }
        }
        if !keep { await discard(connection) }
    }

    /// After an SQL error: rolled back and reset, then reused; closed if that fails.
    private func reset(_ connection: PostgresConnection) async {
        let logger = logger
        do {
            try await withTimeLimit(.seconds(2)) {
                try await PostgresStore.run("ROLLBACK", on: connection, logger: logger)
                try await PostgresStore.run("DISCARD ALL", on: connection, logger: logger)
            }
            await recycle(connection)
        } catch {
            await discard(connection)
        }
    }

    private func discard(_ connection: PostgresConnection) async {
        try? await connection.close()
    }

    /// The query without trailing semicolons and spaces, to be wrapped.
    static func trimmed(_ sql: String) -> String {
        var text = Substring(sql)
        while let last = text.last, last.isWhitespace || last == ";" { text = text.dropLast() }
        return String(text)
    }

    // MARK: errors without data

    /// SQLSTATEs whose message names only what the query text names (a table, a column, a
    /// function, a token): passed on when the server points at a place in the text, which it
    /// does only for what it found while parsing. The same states raised while running (a
    /// `::regclass` cast of a column's value) may quote a value, and become their class.
    static let textStates: Set<String> = [
        "42601", "42P01", "42703", "42883", "42702", "42725", "42803", "42804", "42846", "42P18", "42809", "42P10",
        "42704", "42P02", "3F000",
    ]

    /// SQLSTATEs whose message never holds a value: permissions (on named objects), writes in
    /// a read-only transaction, a subquery with several rows.
    static let fixedStates: Set<String> = ["42501", "25006", "21000"]

    /// Names of the SQLSTATEs (and classes) a rule meets most.
    static let stateNames: [String: String] = [
        "22P02": "invalid text representation", "22012": "division by zero", "22003": "numeric value out of range",
        "22007": "invalid datetime format", "22008": "datetime field overflow", "22023": "invalid parameter value",
        "2201E": "invalid argument for logarithm", "2201F": "invalid argument for power function",
        "22001": "string data right truncation", "22021": "character not in repertoire", "22018": "invalid character value for cast",
        "2202E": "array subscript error", "22004": "null value not allowed", "22P05": "untranslatable character",
        "53200": "out of memory", "53100": "disk full", "53400": "configuration limit exceeded",
        "54000": "program limit exceeded", "54001": "statement too complex",
        "55P03": "lock not available", "57014": "query canceled", "40001": "serialization failure", "40P01": "deadlock detected",
        "42P01": "undefined table", "42703": "undefined column", "42883": "undefined function", "42704": "undefined object",
        "0A000": "feature not supported", "XX000": "internal error",
        "22": "data exception", "23": "integrity constraint violation", "25": "invalid transaction state",
        "40": "transaction rollback", "42": "syntax error or access rule violation", "53": "insufficient resources",
        "54": "program limit exceeded", "55": "object not in prerequisite state", "57": "operator intervention",
        "58": "system error", "XX": "internal error", "0A": "feature not supported", "21": "cardinality violation",
        "08": "connection exception", "P0": "PL/pgSQL error", "38": "external routine exception",
        "39": "external routine invocation exception", "2F": "SQL routine exception", "72": "snapshot too old",
    ]

    /// The error a rule sees for a server error: its message when it can hold nothing but
    /// names from the query text, else the SQLSTATE's name and code; a cancelled statement is
    /// a time-out.
    static func ruleError(sqlState: String?, message: String?, hasPosition: Bool, timeout: Duration) -> RuleQueryError {
        guard let state = sqlState, state.count == 5 else { return .failed("database error") }
        if state == "57014" { return .timedOut(timeout) }
        if let message, fixedStates.contains(state) || (hasPosition && textStates.contains(state)) {
            return .failed(String(message.prefix(300)))
        }
        let name = stateNames[state] ?? stateNames[String(state.prefix(2))] ?? "database error"
        return .failed("\(name) (SQLSTATE \(state))")
    }
}
