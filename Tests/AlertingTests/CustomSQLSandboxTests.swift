import Foundation
import Logging
import NIOHTTP1
import PostgresNIO
import SightlineServer
import Store
import StoreTestSupport
import Synchronization
import Testing

/// What a rule's `custom_sql` may do is decided by the database (a narrow PostgreSQL role, an
/// SQLite authorizer and limits), not by a scan of its text: tried through the real preview
/// endpoint and an evaluation's `last_error`, on both stores. Every answer is checked for
/// the marker `XYZZY` (in a rule's name and destination, and in a span's service), for
/// `/etc/passwd` and for schema text: none may come back.
@Suite("custom_sql sandbox", .serialized)
struct CustomSQLSandboxTests {
    /// What no answer may contain: stored values, a file's lines, the catalog's text.
    static let secrets = ["XYZZY", "root:", "/bin/", "CREATE TABLE", "SCRAM-SHA"]

    static func previewBody(_ sql: String) -> [String: Any] {
        ["name": "probe", "metric_type": "custom_sql", "condition": "gt", "threshold": 1, "custom_sql": sql]
    }

    /// A rule and a span holding the marker: a rule's destination is what custom_sql must
    /// never read; the span's service is telemetry a rule may count but not print in an error.
    static func plantSecrets(_ sightline: Sightline) async throws {
        _ = try await sightline.createRule([
            "name": "XYZZY secret rule", "metric_type": "error_count", "condition": "gt", "threshold": 1, "enabled": false,
            "notification_config": ["slack_webhook_url": "https://hooks.slack.example/services/T000/B000/XYZZYSECRET"],
        ])
        try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5))], service: "XYZZY-leaky-service")
    }

    enum Stores: Sendable { case both, sqlite, postgres }

    /// Attempts that must be refused (400) or fail (422) with a data-free error in time.
    static let attempts: [(sql: String, on: Stores, says: String?)] = [
        // Other tables: rules and their destinations, instances, notification attempts, migrations.
        ("SELECT count(*) FROM enterprise.alert_rules", .both, "alert_rules"),
        ("SELECT count(*) FROM enterprise.trace_spans WHERE trace_id IN (SELECT name FROM enterprise.alert_rules)", .both, "alert_rules"),
        ("SELECT max(length(CAST(notification_config AS TEXT))) FROM enterprise.alert_rules WHERE name LIKE 'XYZZY%'", .both, "alert_rules"),
        ("SELECT count(*) FROM enterprise.alert_instances", .both, "alert_instances"),
        ("SELECT count(*) FROM enterprise.notifications_sent", .both, "notifications_sent"),
        ("SELECT count(*) FROM enterprise.schema_migrations", .both, "schema_migrations"),
        ("WITH r AS (SELECT name FROM enterprise.alert_rules) SELECT count(*) FROM r", .both, "alert_rules"),
        // A stored value where a number belongs: the error names the kind, not the value.
        ("SELECT (SELECT service_name FROM enterprise.trace_spans WHERE service_name LIKE 'XYZZY%' LIMIT 1)", .both, nil),
        // Endless recursion: cut off at the time limit.
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", .both, "timed out after 2 s"),
        // PostgreSQL: the catalog, files, sleeping (in any spelling), dynamic SQL, casts that quote.
        ("SELECT count(*) FROM pg_authid", .postgres, "permission denied"),
        ("SELECT length(rolpassword) FROM pg_authid LIMIT 1", .postgres, "permission denied"),
        ("SELECT (E'\\'' || pg_read_file('/etc/passwd'))::float8 -- '", .postgres, "permission denied for function pg_read_file"),
        ("SELECT length(pg_read_binary_file('/etc/passwd'))", .postgres, "permission denied"),
        ("SELECT count(*) FROM pg_ls_dir('.')", .postgres, "permission denied"),
        ("SELECT 1 FROM U&\"pg_sl\\0065ep\"(3)", .postgres, "permission denied for function pg_sleep"),
        ("SELECT count(*) FROM pg_sleep(3)", .postgres, "permission denied for function pg_sleep"),
        ("SELECT length($$x$$) FROM pg_sleep_for($i$3 seconds$i$)", .postgres, "permission denied"),
        ("SELECT count(*) FROM enterprise.U&\"alert\\005Frules\"", .postgres, "permission denied for table alert_rules"),
        ("SELECT length(query_to_xml('select name from enterprise.alert_rules', true, false, '')::text)", .postgres, "permission denied"),
        ("SELECT (SELECT service_name FROM enterprise.trace_spans WHERE service_name LIKE 'XYZZY%' LIMIT 1)::regclass::oid::int8",
         .postgres, "SQLSTATE 42P01"),
        ("SELECT length(set_config('role', 'postgres', false))", .postgres, "permission denied"),
        ("SELECT count(pg_advisory_lock(7468697201))", .postgres, "permission denied"),
        ("SELECT count(pg_notify('new_log', 'XYZZY'))", .postgres, "permission denied"),
        ("SELECT count(lo_create(0))", .postgres, "permission denied"),
        // SQLite: the catalog, pragmas, huge values, extensions.
        ("SELECT count(*) FROM enterprise.sqlite_master", .sqlite, "not authorized: table enterprise.sqlite_master"),
        ("SELECT length(sql) FROM enterprise.sqlite_schema LIMIT 1", .sqlite, nil),
        ("SELECT count(*) FROM sqlite_schema", .sqlite, nil),
        // Named without its database and no column used: SQLite's authorizer is told no database.
        ("SELECT count(*) FROM alert_rules", .sqlite, "alert_rules"),
        ("SELECT count(*) FROM notifications_sent", .sqlite, "notifications_sent"),
        ("SELECT count(*) FROM dbstat", .sqlite, "dbstat"),
        ("SELECT count(*) FROM pragma_table_info('alert_rules')", .sqlite, nil),
        ("SELECT length(randomblob(1000000000))", .sqlite, "randomblob"),
        ("SELECT length(zeroblob(1000000000))", .sqlite, "zeroblob"),
        ("SELECT length(printf('%.*c', 100000000, 'x'))", .sqlite, "SQLITE_TOOBIG"),
        ("SELECT fts3_tokenizer('simple')", .sqlite, "fts3_tokenizer"),
        ("SELECT load_extension('/tmp/evil')", .sqlite, nil),
        ("SELECT count(*) FROM enterprise.structured_logs_fts", .sqlite, nil),
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r) SELECT count(*) FROM r", .sqlite, "timed out after 2 s"),
    ]

    @Test("other tables, the catalog, files, sleep, escapes, huge values and recursion: refused or cut off, no data in the answer",
          arguments: StoreKind.available)
    func attempts(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: [
                "SIGHTLINE_ALERTS_ENABLED": "false", "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "2",
            ]) { sightline in
                try await Self.plantSecrets(sightline)
                for attempt in Self.attempts where attempt.on == .both || (attempt.on == .sqlite) == (kind == .sqlite) {
                    let started = ContinuousClock.now
                    let answer = try await http(.POST, sightline.api + "/alerts/rules/preview", json: Self.previewBody(attempt.sql))
                    let elapsed = ContinuousClock.now - started
                    let error = answer.json["error"] as? String ?? ""
                    #expect([400, 422].contains(answer.status), "\(attempt.sql): \(answer.status) \(answer.body)")
                    #expect(error.hasPrefix("custom_sql: "), "\(attempt.sql): \(answer.body)")
                    if let says = attempt.says { #expect(error.contains(says), "\(attempt.sql): \(answer.body)") }
                    for secret in Self.secrets { #expect(!answer.body.contains(secret), "\(attempt.sql): \(answer.body)") }
                    // Refused at once, or cut off at the 2 s limit: never the 3 s sleep, never longer.
                    let bound: Duration = attempt.says?.hasPrefix("timed out") == true ? .seconds(5) : .milliseconds(2500)
                    #expect(elapsed < bound, "\(attempt.sql): took \(elapsed)")
                }
                // Nothing above may be saved either.
                for sql in ["SELECT count(*) FROM enterprise.alert_rules", "SELECT count(*) FROM enterprise.notifications_sent"] {
                    let saved = try await http(.POST, sightline.api + "/alerts/rules", json: Self.previewBody(sql))
                    #expect(saved.status == 400, "\(sql): \(saved.body)")
                    #expect(!saved.body.contains("XYZZY"))
                }
            }
        }
    }

    @Test("rules reading the telemetry tables with plain functions still work", arguments: StoreKind.available)
    func allowed(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                try await Self.plantSecrets(sightline)
                let start = nowNano(minus: 20)
                try await sightline.sendSpans((0..<4).map { TestSpan(startNano: start + Int64($0), durationNano: 10_000_000, error: $0 == 0) })
                try await sightline.sendLogs([(17, start), (9, start)])
                var queries: [(String, Double)] = [
                    ("SELECT count(*) FROM enterprise.trace_spans WHERE service_name LIKE 'XYZZY%'", 1),
                    ("SELECT count(*) FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id WHERE s.status = 'error' AND s.service_name = 'checkout'", 1),
                    ("WITH recent AS (SELECT duration_ms FROM enterprise.trace_spans WHERE service_name = 'checkout') SELECT round(max(duration_ms)) FROM recent", 10),
                    ("SELECT count(*) FROM enterprise.structured_logs WHERE upper(level) IN ('ERROR', 'INFO')", 2),
                    ("SELECT coalesce(sum(total_tokens), 0) FROM enterprise.llm_call_metrics", 0),
                    ("SELECT sign(count(*)) FROM enterprise.span_operation_minutes", 1),
                    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r", 55),
                ]
                if kind == .sqlite {
                    queries += [
                        ("SELECT count(*) FROM enterprise.structured_logs WHERE timestamp > datetime('now', '-1 hour') AND json_valid(extra)", 2),
                        ("SELECT length(group_concat(DISTINCT substr(service_name, 1, 3))) FROM enterprise.trace_spans WHERE service_name <> 'sightline'", 7),
                        ("SELECT abs(-2) + ifnull(NULL, 1) + instr('abc', 'c') + CAST(strftime('%Y', 'now') > '2000' AS INTEGER)", 7),
                    ]
                } else {
                    queries += [
                        ("SELECT count(*) FROM enterprise.structured_logs WHERE timestamp > now() - interval '1 hour'", 2),
                        ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FROM enterprise.trace_spans WHERE service_name = 'checkout'", 10),
                    ]
                }
                for (sql, expected) in queries {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules/preview", json: Self.previewBody(sql))
                    #expect(answer.status == 200, "\(sql): \(answer.body)")
                    #expect(answer.json["value"] as? Double == expected, "\(sql): \(answer.body)")
                    let saved = try await http(.POST, sightline.api + "/alerts/rules", json: Self.previewBody(sql))
                    #expect(saved.status == 201, "\(sql): \(saved.body)")
                }
            }
        }
    }

    @Test("an evaluation's last_error holds no data: a stored value that is not a number, a rule saved before the sandbox",
          arguments: StoreKind.available)
    func lastError(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "2"]) { sightline in
                try await sightline.disableDefaultRules()
                try await Self.plantSecrets(sightline)
                func rule(_ name: String, _ sql: String) async throws -> String {
                    try await sightline.createRule([
                        "name": name, "metric_type": "custom_sql", "condition": "gt", "threshold": 1, "evaluation_interval_seconds": 1,
                        "custom_sql": sql, "notification_channels": [],
                    ])
                }
                // Compiles (the check does not run it), fails on the value.
                let text = try await rule("text", "SELECT (SELECT service_name FROM enterprise.trace_spans WHERE service_name LIKE 'XYZZY%' LIMIT 1)")
                // Saved as harmless, then changed in the table: as a rule saved by an older Sightline.
                let old = try await rule("old", "SELECT 1")
                try await database.execute("UPDATE enterprise.alert_rules SET custom_sql = 'SELECT count(*) FROM enterprise.alert_rules WHERE name LIKE ''XYZZY%''' WHERE id = '\(old)'")
                let oldText = try await rule("old text", "SELECT 1")
                try await database.execute("UPDATE enterprise.alert_rules SET custom_sql = 'SELECT (SELECT name FROM enterprise.alert_rules WHERE name LIKE ''XYZZY%'')' WHERE id = '\(oldText)'")
                let expected = [
                    text: kind == .sqlite ? "custom_sql: not a number" : "custom_sql: invalid text representation (SQLSTATE 22P02)",
                    old: "alert_rules", oldText: "alert_rules",
                ]
                for (id, says) in expected {
                    var lastError = ""
                    let recorded = try await eventually(20) {
                        lastError = try await sightline.rule(id)["last_error"] as? String ?? ""
                        return !lastError.isEmpty
                    }
                    #expect(recorded, "rule \(id) has no last_error")
                    #expect(lastError.hasPrefix("custom_sql: "), "\(lastError)")
                    #expect(lastError.contains(says), "\(lastError)")
                    for secret in Self.secrets { #expect(!lastError.contains(secret), "\(lastError)") }
                    #expect(try await sightline.rule(id)["last_value"] is NSNull)
                }
            }
        }
    }

    @Test("a burst of heavy previews: at most N run, the rest get 429 with Retry-After, ingest commits meanwhile",
          arguments: StoreKind.available)
    func bound(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            let heavy = kind == .sqlite
                ? "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
                : "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"
            try await Sightline.with(database: database, environment: [
                "SIGHTLINE_ALERTS_ENABLED": "false", "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "2", "SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY": "2",
            ]) { sightline in
                let sampler = RunningSampler()
                let started = ContinuousClock.now
                let (answers, ingest) = try await withThrowingTaskGroup(of: Void.self) { tasks -> ([Answer], [Duration]) in
                    // PostgreSQL shows the rules role's statements on this database (other tests run
                    // theirs on other databases): never more than two at once. (pg_stat_activity reads each session in turn, not all at one instant: one
                    // that just ended and one that just began can show together, so statements
                    // younger than 200 ms are left out; the heavy ones run 2 s.)
                    if kind == .postgres {
                        tasks.addTask {
                            try await Self.withAdminConnection(database.storage) { connection in
                                for _ in 0..<400 where sampler.sampling.withLock({ $0 }) {
                                    let rows = try await connection.query(
                                        """
                                        SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'sightline-rules'
                                        AND datname = current_database() AND state = 'active'
                                        AND now() - query_start > interval '200 milliseconds'
                                        """,
                                        logger: quiet)
                                    for try await count in rows.decode(Int.self) { sampler.most.withLock { $0 = max($0, count) } }
                                    try await Task.sleep(for: .milliseconds(25))
                                }
                            }
                        }
                    }
                    async let previews: [Answer] = withThrowingTaskGroup(of: Answer.self) { group in
                        for _ in 0..<60 {
                            group.addTask { try await http(.POST, sightline.api + "/alerts/rules/preview", json: Self.previewBody(heavy)) }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    // A small ingest while they run: each request answered and committed in time.
                    var ingest: [Duration] = []
                    for round in 0..<5 {
                        let sent = ContinuousClock.now
                        try await sightline.sendSpans((0..<20).map { TestSpan(name: "burst \(round)", startNano: nowNano(minus: 1) + Int64($0)) })
                        ingest.append(ContinuousClock.now - sent)
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    let answers = try await previews
                    sampler.sampling.withLock { $0 = false }
                    try await tasks.waitForAll()
                    return (answers, ingest)
                }
                let elapsed = ContinuousClock.now - started
                let busy = answers.filter { $0.status == 429 }
                let ran = answers.filter { $0.status != 429 }
                #expect(!busy.isEmpty, "no preview was turned away: \(answers.map(\.status))")
                for answer in busy {
                    #expect(answer.headers.first(name: "Retry-After") == "2", "\(answer.headers)")
                    #expect((answer.json["error"] as? String)?.hasPrefix("custom_sql: ") == true, "\(answer.body)")
                }
                for answer in ran {
                    #expect(answer.status == 422 && answer.body.contains("timed out after 2 s"), "\(answer.status) \(answer.body)")
                }
                // Each that ran held one of the two slots for its 2 s.
                let rounds = Int(elapsed / .seconds(2)) + 1
                #expect(ran.count <= 2 * rounds, "\(ran.count) ran in \(elapsed)")
                if kind == .postgres {
                    #expect(sampler.most.withLock { $0 } <= 2)
                    #expect(sampler.most.withLock { $0 } >= 1, "the sampling never saw a rule statement")
                }
                for duration in ingest { #expect(duration < .seconds(5), "an ingest request took \(duration)") }
                #expect(try await eventually(10) {
                    try await database.rows("SELECT count(*) AS n FROM enterprise.trace_spans WHERE operation_name LIKE 'burst%'").first?.int("n") == 100
                })
            }
        }
    }

    static func withAdminConnection<T: Sendable>(_ url: String, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = try PostgresStore.Configuration(url: url)
        let connection = try await PostgresConnection.connect(configuration: configuration.connectionConfiguration, id: 7, logger: quiet)
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

/// The most rule statements seen running at once, while `sampling`.
final class RunningSampler: Sendable {
    let sampling = Mutex(true)
    let most = Mutex(0)
}

/// PostgreSQL only: where Sightline's user may not create roles, custom_sql is refused until
/// an administrator runs the printed SQL and `SIGHTLINE_RULES_STORAGE` names the role; and a
/// rules URL that logs in as a broad role is refused.
@Suite("custom_sql rules role on PostgreSQL", .serialized)
struct PostgresRulesRoleTests {
    static var enabled: Bool { StoreKind.available.contains(.postgres) }

    @Test("an unprivileged owner: refused with a clear 400, then the printed SQL and SIGHTLINE_RULES_STORAGE make it work",
          .enabled(if: enabled))
    func unprivileged() async throws {
        let server = try #require(StoreKind.postgresURL)
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let owner = "sightline_owner_\(suffix)", name = "sightline_plain_\(suffix)"
        try await CustomSQLSandboxTests.withAdminConnection(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(owner) LOGIN"), logger: quiet)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(owner)"), logger: quiet)
        }
        var components = try #require(URLComponents(string: server))
        components.user = owner
        components.path = "/\(name)"
        let storage = try #require(components.string)
        var adminOnDatabase = try #require(URLComponents(string: server))
        adminOnDatabase.path = "/\(name)"
        do {
            // Sightline's own requests are traced into the store too: the test's spans only.
            let count = "SELECT count(*) FROM enterprise.trace_spans WHERE service_name = 'checkout'"
            try await Sightline.with(storage: storage, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                for path in ["/alerts/rules", "/alerts/rules/preview"] {
                    let answer = try await http(.POST, sightline.api + path, json: CustomSQLSandboxTests.previewBody(count))
                    #expect(answer.status == 400, "\(path): \(answer.body)")
                    let error = answer.json["error"] as? String ?? ""
                    #expect(error.hasPrefix("custom_sql: not available on this server"), "\(error)")
                    #expect(error.contains("--print-rules-role-sql") && error.contains("SIGHTLINE_RULES_STORAGE"), "\(error)")
                }
            }
            // What `sightline migrate --print-rules-role-sql` prints, run by an administrator.
            let configuration = try SightlineConfiguration.resolve(flags: [.storage: storage])
            let script = try #require(try SightlineServer.rulesRoleScript(configuration))
            let urlLine = try #require(script.split(separator: "\n").first { $0.contains("SIGHTLINE_RULES_STORAGE='") })
            let rulesURL = String(try #require(urlLine.split(separator: "'").dropFirst().first))
            try await CustomSQLSandboxTests.withAdminConnection(try #require(adminOnDatabase.string)) { connection in
                for statement in SQLScript.statements(in: script) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: quiet)
                }
            }
            try await Sightline.with(storage: storage, environment: ["SIGHTLINE_RULES_STORAGE": rulesURL]) { sightline in
                try await sightline.disableDefaultRules()
                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                // Log records fire the table's NOTIFY trigger: pg_notify stays Sightline's.
                try await sightline.sendLogs([(17, nowNano(minus: 5))])
                let counted = try await http(.POST, sightline.api + "/alerts/rules/preview", json: CustomSQLSandboxTests.previewBody(count))
                #expect(counted.status == 200, "\(counted.body)")
                #expect(counted.json["value"] as? Double == 1)
                let logs = try await http(.POST, sightline.api + "/alerts/rules/preview",
                                          json: CustomSQLSandboxTests.previewBody("SELECT count(*) FROM enterprise.structured_logs"))
                #expect(logs.json["value"] as? Double == 1, "\(logs.body)")
                for (sql, says) in [("SELECT count(*) FROM enterprise.alert_rules", "permission denied for table alert_rules"),
                                    ("SELECT count(*) FROM pg_sleep(3)", "permission denied for function pg_sleep")] {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules/preview", json: CustomSQLSandboxTests.previewBody(sql))
                    #expect(answer.status == 400 && answer.body.contains(says), "\(sql): \(answer.body)")
                }
                #expect(try await http(.POST, sightline.api + "/alerts/rules", json: CustomSQLSandboxTests.previewBody(count)).status == 201)
            }
        } catch {
            await Self.drop(database: name, roles: [PostgresRulesRole.defaultName(database: name), owner], server: server)
            throw error
        }
        await Self.drop(database: name, roles: [PostgresRulesRole.defaultName(database: name), owner], server: server)
    }

    @Test("an owner with CREATEROLE (not a superuser) creates the rules role itself; pg_sleep stays, bounded by the time limit",
          .enabled(if: enabled))
    func createRole() async throws {
        let server = try #require(StoreKind.postgresURL)
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let owner = "sightline_creator_\(suffix)", name = "sightline_created_\(suffix)"
        try await CustomSQLSandboxTests.withAdminConnection(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE ROLE \(owner) LOGIN CREATEROLE"), logger: quiet)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(owner)"), logger: quiet)
        }
        var components = try #require(URLComponents(string: server))
        components.user = owner
        components.path = "/\(name)"
        let storage = try #require(components.string)
        do {
            try await Sightline.with(storage: storage, environment: [
                "SIGHTLINE_ALERTS_ENABLED": "false", "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "1",
            ]) { sightline in
                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5))])
                for (sql, status, says) in [
                    ("SELECT count(*) FROM enterprise.trace_spans WHERE service_name = 'checkout'", 200, "\"value\":1"),
                    ("SELECT count(*) FROM enterprise.alert_rules", 400, "permission denied for table alert_rules"),
                    ("SELECT count(*) FROM pg_sleep(3)", 422, "timed out after 1 s"),
                ] {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules/preview", json: CustomSQLSandboxTests.previewBody(sql))
                    #expect(answer.status == status && answer.body.contains(says), "\(sql): \(answer.body)")
                }
            }
        } catch {
            await Self.drop(database: name, roles: [PostgresRulesRole.defaultName(database: name), owner], server: server)
            throw error
        }
        await Self.drop(database: name, roles: [PostgresRulesRole.defaultName(database: name), owner], server: server)
    }

    @Test("SIGHTLINE_RULES_STORAGE that logs in as a broad role: custom_sql refused", .enabled(if: enabled))
    func broadRole() async throws {
        try await withTestDatabase(.postgres) { database in
            // The test server's user is a superuser, like Sightline's own here.
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false", "SIGHTLINE_RULES_STORAGE": database.storage]) { sightline in
                let answer = try await http(.POST, sightline.api + "/alerts/rules/preview",
                                            json: CustomSQLSandboxTests.previewBody("SELECT count(*) FROM enterprise.trace_spans"))
                #expect(answer.status == 400, "\(answer.body)")
                #expect(answer.body.contains("is a superuser"), "\(answer.body)")
            }
        }
    }

    @Test("the role's name is made from the database's, within PostgreSQL's 63 bytes")
    func roleNames() {
        #expect(PostgresRulesRole.defaultName(database: "sightline") == "sightline_rules_sightline")
        let odd = PostgresRulesRole.defaultName(database: "Sight-Line")
        #expect(odd.hasPrefix("sightline_rules__") && odd.count == "sightline_rules__".count + 16)
        #expect(odd == PostgresRulesRole.defaultName(database: "Sight-Line"))
        #expect(odd != PostgresRulesRole.defaultName(database: "sight-line"))
        #expect(PostgresRulesRole.defaultName(database: String(repeating: "a", count: 60)).utf8.count <= 63)
    }

    static func drop(database: String, roles: [String], server: String) async {
        _ = try? await CustomSQLSandboxTests.withAdminConnection(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"), logger: quiet)
            for role in roles { try await connection.query(PostgresQuery(unsafeSQL: "DROP ROLE IF EXISTS \(role)"), logger: quiet) }
        }
    }
}

@Suite("custom_sql settings")
struct CustomSQLSettingsTests {
    @Test("SIGHTLINE_RULES_STORAGE and SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY are checked, the URL's password never shown")
    func settings() throws {
        let configuration = try SightlineConfiguration.resolve(flags: [.storage: "postgres://s@127.0.0.1/db"], environment: [
            "SIGHTLINE_RULES_STORAGE": "postgres://rules:hunter2@127.0.0.1/db", "SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY": "3",
        ])
        #expect(configuration.customSQLConcurrency == 3)
        #expect(configuration.rulesStorage == "postgres://rules:hunter2@127.0.0.1/db")
        #expect(!configuration.redactedDescription.contains("hunter2"))
        #expect(try SightlineConfiguration.resolve().customSQLConcurrency == 2)
        for (environment, says) in [
            (["SIGHTLINE_RULES_STORAGE": "postgres://rules:hunter2@127.0.0.1/db"], "only for PostgreSQL storage"),
            (["SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY": "0"], "SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY"),
            (["SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY": "33"], "from 1 to 32"),
        ] {
            #expect { try SightlineConfiguration.resolve(flags: [.storage: "sqlite:/tmp/x.db"], environment: environment) } throws: { error in
                "\(error)".contains(says) && !"\(error)".contains("hunter2")
            }
        }
        #expect { try SightlineConfiguration.resolve(flags: [.storage: "postgres://s@127.0.0.1/db"], environment: [
            "SIGHTLINE_RULES_STORAGE": "mysql://rules:hunter2@x/db"]) } throws: { error in
            "\(error)".contains("SIGHTLINE_RULES_STORAGE") && !"\(error)".contains("hunter2")
        }
    }
}
