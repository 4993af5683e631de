import Foundation
@testable import Store
import Testing
import VaporCSQLite

/// The decisions around rules' SQL, without a database: the slots, the SQLite authorizer's
/// policy, and which PostgreSQL errors keep their message. (Through the real stores:
/// Tests/AlertingTests/CustomSQLSandboxTests.swift.)
@Suite struct RuleQueryTests {
    @Test func slotsAreTakenAtOnceWaitedForOrRefused() async throws {
        let slots = RuleQuerySlots(capacity: 2)
        #expect(await slots.acquire(waitingAtMost: .zero))
        #expect(await slots.acquire(waitingAtMost: .zero))
        #expect(slots.running == 2)
        // Full: refused at once, or after the wait.
        #expect(await slots.acquire(waitingAtMost: .zero) == false)
        let started = ContinuousClock.now
        #expect(await slots.acquire(waitingAtMost: .milliseconds(100)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(100))
        // A waiter takes over the slot released while it waits.
        async let waiter = slots.acquire(waitingAtMost: .seconds(10))
        try await Task.sleep(for: .milliseconds(50))
        slots.release()
        #expect(await waiter)
        #expect(slots.running == 2)
        slots.release()
        slots.release()
        #expect(slots.running == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let slots = RuleQuerySlots(capacity: 1)
        #expect(await slots.acquire(waitingAtMost: .zero))
        let waiter = Task { await slots.acquire(waitingAtMost: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        #expect(await waiter.value == false)
        slots.release()
        #expect(slots.running == 0)
    }

    @Test func theAuthorizerAllowsReadsOfTelemetryAndPlainFunctionsOnly() {
        let stored: Set<String> = ["alert_rules", "trace_spans", "dbstat", "json_each"]
        func allows(_ action: Int32, _ first: String?, _ second: String?, _ database: String?) -> Bool {
            SQLiteRulePolicy.allows(action: action, first: first, second: second, database: database, storedNames: stored)
        }
        #expect(allows(SQLITE_READ, "trace_spans", "duration_ms", "enterprise"))
        #expect(allows(SQLITE_READ, "TRACE_SPANS", "", "Enterprise"))
        #expect(!allows(SQLITE_READ, "alert_rules", "name", "enterprise"))
        #expect(!allows(SQLITE_READ, "sqlite_master", "sql", "enterprise"))
        #expect(!allows(SQLITE_READ, "trace_spans", "x", "main"))
        // No database: a statement's own table passes, a stored one named bare does not.
        #expect(allows(SQLITE_READ, "r", "", nil))
        #expect(allows(SQLITE_READ, "trace_spans", "", nil))
        #expect(!allows(SQLITE_READ, "alert_rules", "", nil))
        #expect(!allows(SQLITE_READ, "sqlite_schema", "", nil))
        #expect(!allows(SQLITE_READ, "pragma_table_info", "", nil))
        #expect(!allows(SQLITE_READ, "dbstat", "", nil))
        #expect(allows(SQLITE_FUNCTION, nil, "count", nil))
        #expect(allows(SQLITE_FUNCTION, nil, "JSON_EXTRACT", nil))
        for function in ["randomblob", "zeroblob", "load_extension", "fts3_tokenizer", "random", "sqlite_version"] {
            #expect(!allows(SQLITE_FUNCTION, nil, function, nil), "\(function)")
        }
        #expect(allows(SQLITE_SELECT, nil, nil, nil))
        #expect(allows(SQLITE_RECURSIVE, nil, nil, nil))
        for action in [SQLITE_PRAGMA, SQLITE_ATTACH, SQLITE_DETACH, SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE, SQLITE_CREATE_TEMP_TABLE,
                       SQLITE_TRANSACTION, SQLITE_SAVEPOINT, SQLITE_ANALYZE, SQLITE_CREATE_VTABLE] {
            #expect(!allows(action, "x", "y", "enterprise"), "action \(action)")
        }
    }

    @Test func postgresErrorsKeepTheirMessageOnlyWhenItCanHoldNoData() {
        func error(_ state: String, _ message: String, position: Bool = false) -> String {
            PostgresRuleQueryRunner.ruleError(sqlState: state, message: message, hasPosition: position, timeout: .seconds(5)).description
        }
        #expect(error("42501", "permission denied for table alert_rules") == "custom_sql: permission denied for table alert_rules")
        #expect(error("42P01", "relation \"nope\" does not exist", position: true) == "custom_sql: relation \"nope\" does not exist")
        // The same state while running (a ::regclass cast of a value): the class only.
        #expect(error("42P01", "relation \"secret\" does not exist") == "custom_sql: undefined table (SQLSTATE 42P01)")
        #expect(error("22P02", "invalid input syntax for type double precision: \"secret\"", position: true)
                == "custom_sql: invalid text representation (SQLSTATE 22P02)")
        #expect(error("2200N", "invalid XML content: secret") == "custom_sql: data exception (SQLSTATE 2200N)")
        #expect(error("ZZ999", "secret") == "custom_sql: database error (SQLSTATE ZZ999)")
        #expect(error("57014", "canceling statement due to statement timeout") == "custom_sql: timed out after 5 s")
    }

    @Test func timeLimitsReadInSeconds() {
        #expect(RuleQueryError.timedOut(.seconds(5)).description == "custom_sql: timed out after 5 s")
        #expect(RuleQueryError.timedOut(.milliseconds(1500)).description == "custom_sql: timed out after 1.5 s")
    }
}
