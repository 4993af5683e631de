import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// Migration 019 (each resource and scope stored once) on a populated store: rows written with
/// the JSON on every row answer every query as before, and new writes share the converted rows.
@Suite struct StoredContextMigrationTests {
    typealias Contract = QueryContractData

    static let resources = [
        #"{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"k8s.namespace.name","value":{"stringValue":"prod"}},{"key":"host.cpus","value":{"intValue":"8"}}],"droppedAttributesCount":1}"#,
        #"{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}},{"key":"deployment.environment","value":{"stringValue":"staging"}}]}"#,
    ]
    static let scopes = [#"{"name":"shop.http","version":"1.2.0","attributes":[{"key":"lib","value":{"boolValue":true}}]}"#, #"{"name":"auth.tokens"}"#]

    /// The contract data, with two resources and two scopes spread over its spans and records.
    static var batches: [WriteBatch] {
        var spans = Contract.spans.map(Contract.spanRow)
        for index in spans.indices {
            spans[index].resource = resources[index % 2]
            spans[index].scope = scopes[index % 2]
        }
        var logs = Contract.logs.map(Contract.logRow)
        for index in logs.indices {
            logs[index].resource = resources[(index + 1) % 2]
            logs[index].scope = scopes[index % 2]
        }
        return [WriteBatch(traces: Contract.spans.map(Contract.traceRow), spans: spans), WriteBatch(logs: logs)]
    }

    /// Turns the store back into the layout before 019 (the JSON on every row), as a store
    /// written by an earlier version holds it, and forgets that 019 ran.
    static func revert(_ database: TestDatabase) async throws {
        var statements: [String] = []
        for table in ["trace_spans", "structured_logs"] {
            switch database.kind {
            case .sqlite:
                statements += [
                    "ALTER TABLE enterprise.\(table) ADD COLUMN resource TEXT NOT NULL DEFAULT '{}'",
                    "ALTER TABLE enterprise.\(table) ADD COLUMN scope TEXT NOT NULL DEFAULT '{}'",
                    """
                    UPDATE enterprise.\(table) SET
                        resource = (SELECT r.resource FROM enterprise.resources r WHERE r.id = \(table).resource_id),
                        scope = (SELECT c.scope FROM enterprise.scopes c WHERE c.id = \(table).scope_id)
                    """,
                    "ALTER TABLE enterprise.\(table) DROP COLUMN resource_id",
                    "ALTER TABLE enterprise.\(table) DROP COLUMN scope_id",
                ]
            case .postgres:
                statements += [
                    "ALTER TABLE enterprise.\(table) ADD COLUMN resource JSONB NOT NULL DEFAULT '{}', ADD COLUMN scope JSONB NOT NULL DEFAULT '{}'",
                    """
                    UPDATE enterprise.\(table) t SET resource = r.resource, scope = c.scope
                    FROM enterprise.resources r, enterprise.scopes c WHERE r.id = t.resource_id AND c.id = t.scope_id
                    """,
                    "ALTER TABLE enterprise.\(table) DROP COLUMN resource_id, DROP COLUMN scope_id",
                ]
            }
        }
        statements += ["DROP TABLE enterprise.resources", "DROP TABLE enterprise.scopes",
                       "DELETE FROM enterprise.schema_migrations WHERE version = '019'"]
        for statement in statements { try await database.execute(statement) }
    }

    struct Answers: Equatable {
        var common: PostgresPartitionMigrationTests.Answers
        var tempoSpans: [[StoredSpan]] = []
        var logs: [StoredLogRecord?] = []
        var lokiLabels: [String] = []
        var lokiSeries: [[String: String]] = []
    }

    static func answers(_ store: any TelemetryStore, _ database: TestDatabase) async throws -> Answers {
        let queries = store.queries
        var answers = Answers(common: try await PostgresPartitionMigrationTests.answers(queries, database))
        for spec in Contract.spans.prefix(6) {
            answers.tempoSpans.append(try await queries.tempo.spans(ofTrace: spec.trace))
        }
        let page = try await queries.logs.logList(LogFilter(since: Contract.t0 - 86_400_000_000_000), limit: 100, offset: 0, countLimit: 1_000)
        for item in page.logs { answers.logs.append(try await queries.logs.log(id: item.id)) }
        let (start, end) = (Contract.t0 - 86_400_000_000_000, Contract.t0 + 86_400_000_000_000)
        answers.lokiLabels = try await queries.loki.labelNames(nil, start: start, end: end, sampleRows: 1_000)
        answers.lokiSeries = try await queries.loki.series([], start: start, end: end, limit: 100)
        return answers
    }

    @Test(arguments: StoreKind.available)
    func rowsWrittenWithTheJSONOnEveryRowAnswerTheSameAfterTheMigration(_ kind: StoreKind) async throws {
        let database = try await TestDatabase.create(kind)
        let before = try await withTestStore(kind, database: database) { store, database in
            for batch in Self.batches { try await store.write(batch) }
            return try await Self.answers(store, database)
        }
        #expect(before.tempoSpans.allSatisfy { !$0.isEmpty })
        #expect(before.tempoSpans.flatMap { $0 }.contains { $0.resource.contains("k8s.namespace.name") })
        #expect(!before.logs.isEmpty && before.logs.allSatisfy { $0?.scope.text.contains("name") == true })
        #expect(before.lokiLabels.contains("k8s_namespace_name"))
        try await Self.revert(database)
        try await withTestStore(kind, database: database) { store, database in
            let after = try await Self.answers(store, database)
            #expect(after == before)
            // Two resources and two scopes, each stored once; a new write with the same ones adds none.
            #expect(try await database.count("resources") == 2)
            #expect(try await database.count("scopes") == 2)
            var again = Self.batches[1]
            for index in again.logs.indices { again.logs[index].timestampUnixNano += 1 }
            try await store.write(again)
            #expect(try await database.count("resources") == 2)
            #expect(try await database.count("scopes") == 2)
        }
        await database.drop()
    }
}
