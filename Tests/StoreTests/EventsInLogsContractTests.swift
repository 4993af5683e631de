import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// On PostgreSQL a span's typed events are stored only where its flat `logs` cannot give them
/// back (`EventsInLogs`, migration 016): the column holds NULL or the nanoseconds and attribute
/// orders `logs` lacks, and every read gives back the typed events as they were sent. SQLite
/// keeps the typed events.
@Suite struct EventsInLogsContractTests {
    typealias Contract = QueryContractData
    typealias Part = EventsInLogs.Part

    struct Case {
        var span: String
        var logs: String
        var typed: String
        /// nil: `logs` loses something (the writer stores the typed form).
        var parts: [Part]?
        /// What PostgreSQL's column holds with the layout: nil for NULL.
        var postgres: String?
    }

    static let cases: [Case] = [
        // Nanoseconds below the microsecond, attributes not in `jsonb`'s order, an event without any.
        Case(span: "00000000000000e1",
             logs: #"[{"timestamp":"2026-12-07T10:00:00.123456Z","name":"cache \"lookup\"","attributes":{"message.text":"x","step":-3,"ok":true,"ratio":0.25,"none":null}},{"timestamp":"2026-12-07T10:00:01.000000Z","name":"plain","attributes":{}}]"#,
             typed: #"[{"timeUnixNano":"1796637600123456789","name":"cache \"lookup\"","attributes":[{"key":"message.text","value":{"stringValue":"x"}},{"key":"step","value":{"intValue":"-3"}},{"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.25}},{"key":"none","value":{}}]},{"timeUnixNano":"1796637601000000000","name":"plain"}]"#,
             parts: [Part(nanoseconds: 789, jsonbPositions: AttributesInTags.jsonbPositions(of: ["message.text", "step", "ok", "ratio", "none"])),
                     Part(nanoseconds: 0, jsonbPositions: nil)],
             postgres: #""789:4.2.0.3.1;0""#),
        // At the microsecond, in `jsonb`'s order: NULL.
        Case(span: "00000000000000e2",
             logs: #"[{"timestamp":"2026-12-07T10:00:02.000001Z","name":"ordered","attributes":{"a":1,"bb":2.5}}]"#,
             typed: #"[{"timeUnixNano":"1796637602000001000","name":"ordered","attributes":[{"key":"a","value":{"intValue":"1"}},{"key":"bb","value":{"doubleValue":2.5}}]}]"#,
             parts: [Part(nanoseconds: 0, jsonbPositions: nil)], postgres: nil),
        // An array value: typed everywhere.
        Case(span: "00000000000000e3",
             logs: #"[{"timestamp":"2026-12-07T10:00:03.000000Z","name":"typed","attributes":{"list":["a"]}}]"#,
             typed: #"[{"timeUnixNano":"1796637603000000001","name":"typed","attributes":[{"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}]}]"#,
             parts: nil, postgres: nil),
        // No events.
        Case(span: "00000000000000e4", logs: "[]", typed: "[]", parts: [], postgres: nil),
    ]

    static let trace = Contract.traceID("e")

    static func batch(withLayout: Bool) -> WriteBatch {
        let rows = cases.map { item in
            var row = Contract.spanRow(Contract.SpanSpec(trace: trace, span: item.span, name: "op", service: "shop",
                                                         start: Contract.t0 + Int64(item.span.suffix(1))! * Contract.millisecond, durationMs: 1))
            row.logs = item.logs
            row.events = item.typed
            if withLayout { row.eventsInLogs = item.parts.map(EventsInLogs.init(parts:)) }
            return row
        }
        return WriteBatch(traces: [Contract.traceRow(Contract.SpanSpec(trace: trace, span: cases[0].span, name: "op", service: "shop",
                                                                       start: Contract.t0, durationMs: 10))], spans: rows)
    }

    static func stored(_ database: TestDatabase) async throws -> [String: String?] {
        var stored: [String: String?] = [:]
        for row in try await database.rows("SELECT span_id, CAST(events AS TEXT) AS events FROM enterprise.trace_spans") {
            stored[row.string("span_id") ?? ""] = .some(row.string("events"))
        }
        return stored
    }

    static func expectReadsBack(_ store: any TelemetryStore, exactText: Bool) async throws {
        let tempo = try await store.queries.tempo.spans(ofTrace: trace)
        let detail = try #require(try await store.queries.traces.trace(id: trace))
        #expect(tempo.count == cases.count && detail.spans.count == cases.count)
        for item in cases {
            let fromTempo = try #require(tempo.first { $0.spanID == item.span }).events
            let fromDetail = try #require(detail.spans.first { $0.spanID == item.span }).events.text
            #expect(Contract.json(fromTempo) == Contract.json(item.typed), "\(item.span): \(fromTempo)")
            #expect(Contract.json(fromDetail) == Contract.json(item.typed), "\(item.span): \(fromDetail)")
            if exactText { #expect(fromTempo == item.typed) }
        }
    }

    @Test(arguments: StoreKind.available)
    func postgresKeepsOnlyWhatLogsCannotGiveBack(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: true))
            let stored = try await Self.stored(database)
            for item in Self.cases {
                let column = try #require(stored[item.span])
                if kind == .sqlite || item.parts == nil {
                    #expect(Contract.json(column ?? "") == Contract.json(item.typed), "\(item.span)")
                } else {
                    #expect(column == item.postgres, "\(item.span): \(column ?? "NULL")")
                }
            }
            try await Self.expectReadsBack(store, exactText: kind == .sqlite)
        }
    }

    /// Spans stored with their typed events (as before migration 016) read the same after it.
    @Test(arguments: StoreKind.available)
    func spansStoredTypedReadTheSameAfterTheMigration(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: false))
            let before = try await store.queries.tempo.spans(ofTrace: Self.trace)
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '016'")
            #expect(try await store.migrate() == ["016"])
            #expect(try await store.queries.tempo.spans(ofTrace: Self.trace).map(\.events) == before.map(\.events))
            try await Self.expectReadsBack(store, exactText: kind == .sqlite)
        }
    }
}

/// `StoredEvents.typed` and the ISO time it reads.
@Suite struct StoredEventsTests {
    @Test func typedTextIsReturnedAsItIs() {
        let typed = #"[{"timeUnixNano":"5","name":"x"}]"#
        #expect(StoredEvents.typed(stored: typed, logs: "[]") == typed)
    }

    /// PostgreSQL gives `jsonb` back with spaces and each object's members in its own order.
    @Test func nanosecondsAndPositionsComeFromTheColumn() {
        let logs = #"[{"name": "e", "timestamp": "1970-01-01T00:00:01.000002Z", "attributes": {"n": 1, "ok": true, "http.route": "/x"}}, {"name": "f", "timestamp": "1970-01-01T00:00:00.000000Z", "attributes": {}}]"#
        #expect(StoredEvents.typed(stored: #""3:2.0.1;0""#, logs: logs)
            == #"[{"timeUnixNano":"1000002003","name":"e","attributes":[{"key":"http.route","value":{"stringValue":"/x"}},{"key":"n","value":{"intValue":"1"}},{"key":"ok","value":{"boolValue":true}}]},{"timeUnixNano":"0","name":"f"}]"#)
        #expect(StoredEvents.typed(stored: "", logs: logs).hasPrefix(#"[{"timeUnixNano":"1000002000","name":"e","attributes":[{"key":"n""#))
        #expect(StoredEvents.typed(stored: "", logs: nil) == "[]")
    }

    @Test func isoTimesReadBackToTheMicrosecond() {
        for nanoseconds: Int64 in [0, 999, 1_000, 1_796_637_600_123_456_789, 253_402_300_799_999_999] {
            #expect(Timestamp.unixMicros(iso8601: Timestamp.iso8601(unixNano: nanoseconds)) == nanoseconds / 1_000, "\(nanoseconds)")
        }
        #expect(Timestamp.unixMicros(iso8601: "2026-13-01T00:00:00.000000Z") == nil)
        #expect(Timestamp.unixMicros(iso8601: "1969-12-31T23:59:59.999999Z") == nil)
        #expect(Timestamp.unixMicros(iso8601: "2026-12-07T10:00:00Z") == nil)
    }
}
