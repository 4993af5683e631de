import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL role that alert rules' SQL (`custom_sql`) logs in as: it may read the
/// telemetry tables (`RuleQueryTables.readable`) and nothing else Sightline keeps, and its
/// sessions default to read-only with short time limits. Never Sightline's own user, and never
/// reached by `SET ROLE` from Sightline's session: a statement there could climb back with
/// `set_config('role', …)`.
///
/// Role names are cluster-wide, so the default name is made from the database's
/// (`sightline_rules_<database>`); `SIGHTLINE_RULES_STORAGE` names another. After the
/// migrations, each `migrate()` brings the role up to date as far as Sightline's user may
/// (`ensure`): with CREATEROLE or as a superuser it creates the role and sets its password,
/// kept in `enterprise.rules_role_credentials` (readable by Sightline's user only); as the
/// tables' owner it grants them; as a superuser it also revokes dangerous functions from
/// PUBLIC. Where it may not create roles, an administrator runs `operatorScript`
/// (`sightline migrate --print-rules-role-sql`). docs/security-customsql.md tells the whole.
public struct PostgresRulesRole: Sendable {
    /// The role's name.
    public let name: String
    /// Sightline's own user: keeps the functions it uses when PUBLIC loses them.
    public let sightlineUser: String

    /// Where the generated password is kept; no grant on it to anyone.
    static let credentialsTable = "enterprise.rules_role_credentials"

    /// Functions no rule needs: sleeping, signalling other sessions, locks that outlive a
    /// statement, notifications, files, large objects, WAL and log control. Revoked from PUBLIC
    /// where Sightline's user may (a superuser); each also by name prefix (`lo_`, `dblink`, …).
    static let revokedFunctions = [
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_terminate_backend", "pg_cancel_backend",
        "pg_reload_conf", "pg_rotate_logfile", "pg_switch_wal", "pg_create_restore_point", "pg_logical_emit_message",
        "pg_notify", "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "loread", "lowrite",
    ]
    static let revokedPrefixes = ["lo\\_", "dblink", "pg\\_file\\_", "pg\\_stat\\_reset"]

    /// The functions among those that Sightline itself calls (migration and evaluator locks;
    /// the transaction locks of partition upkeep and of the service-edge rollups at commit; the
    /// log stream's notifications): granted back to its user.
    static let sightlineFunctions = [
        "pg_catalog.pg_advisory_lock(bigint)", "pg_catalog.pg_advisory_unlock(bigint)",
        "pg_catalog.pg_try_advisory_lock(bigint)", "pg_catalog.pg_advisory_xact_lock(bigint)",
        "pg_catalog.pg_notify(text, text)",
    ]

    /// Most sessions the role may have open (every Sightline on the database keeps a few).
    static let connectionLimit = 32

    /// The role of `configuration`: `SIGHTLINE_RULES_STORAGE`'s user, else the default name.
    public init(configuration: PostgresStore.Configuration) {
        if let url = configuration.rulesURL, let rules = try? PostgresStore.Configuration(url: url) {
            name = rules.username
        } else {
            name = Self.defaultName(database: configuration.database ?? configuration.username)
        }
        sightlineUser = configuration.username
    }

    /// `sightline_rules_<database>` for a plain lower-case name; else `sightline_rules__` and
    /// 16 hex digits of the name's hash (64-bit FNV-1a), within PostgreSQL's 63 bytes.
    public static func defaultName(database: String) -> String {
        let plain = database.utf8.count <= 40 && database.first.map { $0 >= "a" && $0 <= "z" } == true
            && database.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
        if plain { return "sightline_rules_\(database)" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in database.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "sightline_rules__" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// 48 random hex digits (the system's secure generator).
    static func newPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<3).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    // MARK: SQL

    /// Creates the role when missing, and sets its login (what CREATEROLE may do).
    func loginStatements(password: String) -> [String] {
        let role = Self.identifier(name)
        return [
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = \(Self.literal(name))) THEN
                    CREATE ROLE \(role) LOGIN;
                END IF;
            END $$
            """,
            "ALTER ROLE \(role) WITH LOGIN CONNECTION LIMIT \(Self.connectionLimit) PASSWORD \(Self.literal(password))",
        ]
    }

    /// The role's session defaults: read-only with time limits, whoever opens the session (the
    /// rule runner also sets its own, per statement).
    func defaultStatements(serverVersion: Int) -> [String] {
        var settings = [
            ("default_transaction_read_only", "on"), ("statement_timeout", "30s"), ("lock_timeout", "5s"),
            ("idle_in_transaction_session_timeout", "60s"), ("work_mem", "16MB"),
        ]
        // PostgreSQL 14: while a query runs, the server checks that its client is still there.
        if serverVersion >= 140000 { settings.append(("client_connection_check_interval", "1s")) }
        return settings.map { "ALTER ROLE \(Self.identifier(name)) SET \($0.0) = \(Self.literal($0.1))" }
    }

    /// What only a superuser may state: the attributes CREATEROLE cannot set (a role it creates
    /// has none of them anyway) and a cap on temporary files.
    func superuserStatements() -> [String] {
        let role = Self.identifier(name)
        return [
            "ALTER ROLE \(role) WITH NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
            "ALTER ROLE \(role) SET temp_file_limit = '1GB'",
        ]
    }

    /// The schema, and SELECT on the telemetry tables only (any other grant on the schema's
    /// tables and sequences is taken back). Run by the tables' owner.
    func grantStatements() -> [String] {
        let role = Self.identifier(name)
        let tables = RuleQueryTables.readable.map { "enterprise.\($0)" }.joined(separator: ", ")
        return [
            "GRANT USAGE ON SCHEMA enterprise TO \(role)",
            "REVOKE ALL ON ALL TABLES IN SCHEMA enterprise FROM \(role)",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA enterprise FROM \(role)",
            "GRANT SELECT ON \(tables) TO \(role)",
        ]
    }

    /// EXECUTE on `revokedFunctions` taken from PUBLIC in this database (a superuser's, or the
    /// functions' owner's, right), and given back to Sightline's user for those it calls.
    func functionStatements() -> [String] {
        let names = Self.revokedFunctions.map(Self.literal).joined(separator: ", ")
        let prefixes = Self.revokedPrefixes.map { "p.proname LIKE \(Self.literal($0 + "%"))" }.joined(separator: " OR ")
        return [
            """
            DO $$
            DECLARE f regprocedure;
            BEGIN
                FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                         WHERE p.proname = ANY (ARRAY[\(names)]) OR \(prefixes)
                LOOP
                    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
                END LOOP;
            END $$
            """,
            "GRANT EXECUTE ON FUNCTION \(Self.sightlineFunctions.joined(separator: ", ")) TO \(Self.identifier(sightlineUser))",
        ]
    }

    /// The SQL an administrator runs where Sightline's user may not create roles
    /// (`sightline migrate --print-rules-role-sql`), with the `SIGHTLINE_RULES_STORAGE` URL to
    /// set afterwards. `password` defaults to a new one. Sightline grants the tables itself
    /// (as their owner) on its next start.
    public func operatorScript(configuration: PostgresStore.Configuration, password: String? = nil) -> String {
        let password = password ?? Self.newPassword()
        var url = URLComponents()
        url.scheme = "postgres"
        url.user = name
        url.password = password
        url.host = configuration.host
        url.port = configuration.port
        url.path = "/" + (configuration.database ?? configuration.username)
        let database = configuration.database ?? configuration.username
        var lines = [
            "-- The role Sightline's custom_sql alert rules log in as, on database \(Self.identifier(database)).",
            "-- Run it as a superuser on that database (a role with CREATEROLE may run the first",
            "-- transaction; the second, which takes dangerous functions from PUBLIC, needs a superuser):",
            "--   psql -v ON_ERROR_STOP=1 -U ADMIN -d \(database) -f rules-role.sql",
            "-- then start Sightline with",
            "--   SIGHTLINE_RULES_STORAGE='\(url.string ?? "")'",
            "-- Sightline grants the role SELECT on the telemetry tables itself when it starts.",
            "-- See docs/security-customsql.md.",
            "BEGIN;",
        ]
        // client_connection_check_interval needs PostgreSQL 14.
        lines += (loginStatements(password: password) + defaultStatements(serverVersion: 140000)).map { $0 + ";" }
        lines += ["COMMIT;", "BEGIN;"]
        lines += (superuserStatements() + functionStatements()).map { $0 + ";" }
        lines.append("COMMIT;")
        return lines.joined(separator: "\n")
    }

    /// `"name"`, quotes doubled.
    static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `'text'`, quotes doubled (standard_conforming_strings is on since PostgreSQL 9.1).
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    // MARK: at migrate time

    /// Brings the role up to date as far as the connection's user may; run by `migrate()` under
    /// its lock. Never fails the migration: a step that cannot be done is logged, and
    /// `PostgresRuleQueryRunner` refuses rules' SQL until the role can be used.
    static func ensure(configuration: PostgresStore.Configuration, on connection: PostgresConnection, logger: Logger) async {
        let role = PostgresRulesRole(configuration: configuration)
        guard role.name != role.sightlineUser else {
            logger.warning("custom_sql: the rules role must not be Sightline's own user", metadata: ["postgres.role": "\(role.name)"])
            return
        }
        let superuser: Bool
        let createRole: Bool
        let version: Int
        do {
            let rows = try await connection.query(
                "SELECT rolsuper, rolcreaterole, current_setting('server_version_num')::int FROM pg_catalog.pg_roles WHERE rolname = current_user",
                logger: logger)
            var found: (Bool, Bool, Int)?
            for try await row in rows.decode((Bool, Bool, Int).self) { found = row }
            guard let found else { return }
            (superuser, createRole, version) = found
        } catch {
            logger.warning("custom_sql: cannot read Sightline's privileges", metadata: ["error": "\(PostgresStore.describe(error))"])
            return
        }
        func step(_ name: String, _ statements: () async throws -> [String]) async {
            do {
                try await PostgresStore.transaction(on: connection, logger: logger) { run in
                    // The statements hold a password: out of the server's statement log.
                    if superuser { try await run("SET LOCAL log_statement = 'none'") }
                    for statement in try await statements() { try await run(PostgresQuery(unsafeSQL: statement)) }
                }
            } catch {
                logger.warning("custom_sql: cannot \(name)", metadata: ["postgres.role": "\(role.name)", "error": "\(PostgresStore.describe(error))"])
            }
        }
        if configuration.rulesURL == nil, superuser || createRole {
            await step("create or update the rules role") {
                let password = try await storedPassword(role: role.name, on: connection, logger: logger, create: true) ?? newPassword()
                return role.loginStatements(password: password) + role.defaultStatements(serverVersion: version)
                    + (superuser ? role.superuserStatements() : [])
            }
        }
        guard await exists(role: role.name, on: connection, logger: logger) else { return }
        await step("grant the telemetry tables to the rules role") { role.grantStatements() }
        if superuser { await step("revoke dangerous functions from PUBLIC") { role.functionStatements() } }
    }

    /// The password kept for `role`; with `create`, a new one is made and kept when there is none.
    static func storedPassword(role: String, on connection: PostgresConnection, logger: Logger, create: Bool) async throws -> String? {
        if create {
            try await connection.query(PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS \(credentialsTable) (
                    role_name TEXT PRIMARY KEY,
                    password TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "REVOKE ALL ON \(credentialsTable) FROM PUBLIC"), logger: logger)
            let password = newPassword()
            try await connection.query(
                "INSERT INTO enterprise.rules_role_credentials (role_name, password) VALUES (\(role), \(password)) ON CONFLICT (role_name) DO NOTHING",
                logger: logger)
        } else {
            var present = false
            for try await found in try await connection.query(
                "SELECT to_regclass('enterprise.rules_role_credentials') IS NOT NULL", logger: logger).decode(Bool.self) {
                present = found
            }
            guard present else { return nil }
        }
        var password: String?
        for try await stored in try await connection.query(
            "SELECT password FROM enterprise.rules_role_credentials WHERE role_name = \(role)", logger: logger).decode(String.self) {
            password = stored
        }
        return password
    }

    private static func exists(role: String, on connection: PostgresConnection, logger: Logger) async -> Bool {
        do {
            var found = false
            for try await present in try await connection.query(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = \(role))", logger: logger).decode(Bool.self) {
                found = present
            }
            return found
        } catch {
            return false
        }
    }
}
