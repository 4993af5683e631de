import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// A log record's typed attributes are stored only where its flat `extra` and the columns
/// attributes are lifted into cannot give them back (`LogAttributesInExtra`, migration 025):
/// the column holds NULL or the tokens saying where each attribute is, and the record by id
/// gives back the typed attributes as they were sent.
@Suite struct LogAttributesInExtraContractTests {
    typealias Contract = QueryContractData
    typealias Source = LogAttributesInExtra.Source

    /// One record's attributes in both forms, and where each typed attribute is.
    struct Case {
        var message: String
        var extra: String
        var typed: String
        /// nil: something would not read back (the writer stores the typed form).
        var sources: [Source]?
        var extraKeys: [String] = []
        var nestedInJSONBOrder = true
        var loggerName = "shop.pay"
        var userEmail: String?
        var sessionID: String?
        var endpoint: String?
        var traceback: String?
        /// Whether migration 025 moves a stored record of this kind over (scalars only).
        var migrates: Bool
    }

    static let cases: [Case] = [
        // Every scalar kind, not in `jsonb`'s order, with lifted attributes between them.
        Case(message: "scalars",
             extra: #"{"code.function":"f \"q\" é","n":-1200,"ok":true,"ratio":0.5,"none":null,"whole":2.0}"#,
             typed: #"[{"key":"code.function","value":{"stringValue":"f \"q\" é"}},{"key":"user.email","value":{"stringValue":"a@example.com"}},{"key":"n","value":{"intValue":"-1200"}},{"key":"ok","value":{"boolValue":true}},{"key":"http.route","value":{"stringValue":"/pay/{id}"}},{"key":"ratio","value":{"doubleValue":0.5}},{"key":"none","value":{}},{"key":"exception.stacktrace","value":{"stringValue":"at pay()\n\tat \"main\"\u0001"}},{"key":"whole","value":{"doubleValue":2.0}}]"#,
             sources: [.extra(0), .column(.userEmail, key: 0), .extra(1), .extra(2), .column(.endpoint, key: 0), .extra(3), .extra(4),
                       .column(.exceptionTraceback, key: 0), .extra(5)],
             extraKeys: ["code.function", "n", "ok", "ratio", "none", "whole"],
             userEmail: "a@example.com", endpoint: "/pay/{id}", traceback: "at pay()\n\tat \"main\"\u{1}", migrates: true),
        // Only `extra`, already in `jsonb`'s order.
        Case(message: "in order", extra: #"{"a":"x","bb":1}"#,
             typed: #"[{"key":"a","value":{"stringValue":"x"}},{"key":"bb","value":{"intValue":"1"}}]"#,
             sources: [.extra(0), .extra(1)], extraKeys: ["a", "bb"], migrates: true),
        // Arrays and a kvlist in `jsonb`'s order, a lifted session id.
        Case(message: "nested", extra: #"{"list":["a",2,false,1.5,null,[]],"map":{"n":7,"inner":["x"]}}"#,
             typed: #"[{"key":"session.id","value":{"stringValue":"s-1"}},{"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"},{"boolValue":false},{"doubleValue":1.5},{},{"arrayValue":{}}]}}},{"key":"map","value":{"kvlistValue":{"values":[{"key":"n","value":{"intValue":"7"}},{"key":"inner","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}}]}}}]"#,
             sources: [.column(.sessionID, key: 0), .extra(0), .extra(1)], extraKeys: ["list", "map"], sessionID: "s-1", migrates: false),
        // A kvlist whose order `jsonb` would change: typed on PostgreSQL only.
        Case(message: "reordered kvlist", extra: #"{"map":{"inner":"x","n":7}}"#,
             typed: #"[{"key":"map","value":{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}},{"key":"n","value":{"intValue":"7"}}]}}}]"#,
             sources: [.extra(0)], extraKeys: ["map"], nestedInJSONBOrder: false, migrates: false),
        // Bytes (base64 in `extra`): typed everywhere.
        Case(message: "bytes", extra: #"{"raw":"AAH+/w=="}"#,
             typed: #"[{"key":"user_email","value":{"stringValue":"b@example.com"}},{"key":"raw","value":{"bytesValue":"AAH+/w=="}}]"#,
             sources: nil, userEmail: "b@example.com", migrates: false),
        // A logger name lifted from the attributes.
        Case(message: "logger", extra: #"{"b":1}"#,
             typed: #"[{"key":"b","value":{"intValue":"1"}},{"key":"logger.name","value":{"stringValue":"from.attributes"}}]"#,
             sources: [.extra(0), .column(.loggerName, key: 0)], extraKeys: ["b"], loggerName: "from.attributes", migrates: true),
        // No attributes.
        Case(message: "none", extra: "{}", typed: "[]", sources: [], migrates: true),
    ]

    static func layout(_ item: Case) -> LogAttributesInExtra? {
        item.sources.map {
            LogAttributesInExtra(sources: $0, extraJSONBPositions: AttributesInTags.jsonbPositions(of: item.extraKeys),
                                 nestedOrderSurvivesJSONB: item.nestedInJSONBOrder)
        }
    }

    static func row(_ item: Case, at index: Int, withLayout: Bool) -> LogRow {
        var row = Contract.logRow(Contract.LogSpec(at: Contract.t0 + Int64(index) * Contract.second, level: "ERROR",
                                                   message: item.message, logger: item.loggerName, service: "shop"))
        row.extra = item.extra
        row.attributes = item.typed
        row.userEmail = item.userEmail
        row.sessionID = item.sessionID
        row.endpoint = item.endpoint
        row.exceptionTraceback = item.traceback
        if withLayout { row.attributesInExtra = layout(item) }
        return row
    }

    static func batch(withLayout: Bool) -> WriteBatch {
        WriteBatch(logs: cases.enumerated().map { row($1, at: $0, withLayout: withLayout) })
    }

    /// What the writer stores for `item` on `kind`: nil for NULL, else the text.
    static func expectedColumn(_ item: Case, _ kind: StoreKind) -> String? {
        var row = row(item, at: 0, withLayout: true)
        row.attributes = "typed"
        let stored = row.storedAttributes(kind == .sqlite ? .sqlite : .postgres)
        return stored == "typed" ? item.typed : stored
    }

    /// The column as stored and the record's id, per message.
    static func stored(_ database: TestDatabase) async throws -> [String: (id: String, column: String?)] {
        var stored: [String: (id: String, column: String?)] = [:]
        for row in try await database.rows("SELECT CAST(id AS TEXT) AS id, message, CAST(attributes AS TEXT) AS attributes FROM enterprise.structured_logs") {
            stored[row.string("message") ?? ""] = (row.string("id") ?? "", row.string("attributes"))
        }
        return stored
    }

    static func expectColumns(_ stored: [String: (id: String, column: String?)], _ kind: StoreKind, migrated: Bool) throws {
        for item in cases {
            let column = try #require(stored[item.message]).column
            let expected = migrated && !item.migrates ? item.typed : expectedColumn(item, kind)
            if expected == item.typed {
                #expect(Contract.json(column ?? "") == Contract.json(item.typed), "\(item.message): \(column ?? "NULL")")
            } else {
                #expect(column == expected, "\(item.message): \(column ?? "NULL")")
            }
        }
    }

    /// The record by id gives each case's typed form back, in its order.
    static func expectReadsBack(_ store: any TelemetryStore, _ stored: [String: (id: String, column: String?)],
                                exactText: Bool) async throws {
        for item in cases {
            let id = try #require(stored[item.message]).id
            let record = try #require(try await store.queries.logs.log(id: id))
            #expect(Contract.json(record.attributes) == Contract.json(item.typed), "\(item.message): \(record.attributes.text)")
            if exactText { #expect(record.attributes.text == item.typed, "\(item.message)") }
            #expect(Contract.json(record.extra) == Contract.json(item.extra), "\(item.message)")
        }
    }

    @Test(arguments: StoreKind.available)
    func theWriterKeepsOnlyWhatExtraAndTheColumnsCannotGiveBack(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: true))
            let stored = try await Self.stored(database)
            #expect(stored["scalars"]?.column?.contains("u0") == true)
            #expect(stored["in order"].map { $0.column == nil } == true)
            #expect(stored["none"].map { $0.column == nil } == true)
            try Self.expectColumns(stored, kind, migrated: false)
            try await Self.expectReadsBack(store, stored, exactText: kind == .sqlite)
        }
    }

    /// Migration 025 on records stored typed (as a store written before it holds them): the
    /// records whose scalar `extra` and columns give the typed form back lose it (keeping what
    /// the writer would keep), the others keep it, and the record by id answers as before.
    @Test(arguments: StoreKind.available)
    func theMigrationMovesStoredRecordsOver(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: false))
            let before = try await Self.stored(database)
            #expect(before.values.allSatisfy { $0.column != nil })
            var answersBefore: [String: StoredLogRecord] = [:]
            for (message, row) in before { answersBefore[message] = try await store.queries.logs.log(id: row.id) }
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '025'")
            #expect(try await store.migrate() == ["025"])
            let after = try await Self.stored(database)
            try Self.expectColumns(after, kind, migrated: true)
            for (message, row) in after {
                let answer = try await store.queries.logs.log(id: row.id)
                #expect(answer.map { Contract.json($0.attributes) } == answersBefore[message].map { Contract.json($0.attributes) }, "\(message)")
                var same = answer
                same?.attributes = answersBefore[message]?.attributes ?? JSONText("")
                if kind == .sqlite { #expect(answer == answersBefore[message], "\(message)") } else { #expect(same == answersBefore[message], "\(message)") }
            }
            try await Self.expectReadsBack(store, after, exactText: kind == .sqlite)
        }
    }
}

/// `StoredLogAttributes.typed` on the texts each store gives back.
@Suite struct StoredLogAttributesTests {
    static func column(_ column: LogAttributeColumn) -> String? {
        switch column {
        case .userEmail: "a\"b\n\u{1}@example.com"
        case .endpoint: "/x"
        default: nil
        }
    }

    @Test func typedTextIsReturnedAsItIs() {
        let typed = #"[{"key":"raw","value":{"bytesValue":"AA=="}}]"#
        #expect(StoredLogAttributes.typed(stored: typed, extra: #"{"raw":"AA=="}"#, column: Self.column) == typed)
    }

    @Test func nullIsExtraAsWritten() {
        #expect(StoredLogAttributes.typed(stored: "", extra: #"{"b":"x","a":[1,{"k":null}],"c":-0.25}"#, column: Self.column)
            == #"[{"key":"b","value":{"stringValue":"x"}},{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"kvlistValue":{"values":[{"key":"k","value":{}}]}}]}}},{"key":"c","value":{"doubleValue":-0.25}}]"#)
        #expect(StoredLogAttributes.typed(stored: "", extra: nil, column: Self.column) == "[]")
    }

    /// PostgreSQL gives `jsonb` back with spaces and its members in its own order.
    @Test func tokensPlaceMembersAndColumns() {
        #expect(StoredLogAttributes.typed(stored: #""e0,1,u1,0""#, extra: #"{"n": 1, "ok": true}"#, column: Self.column)
            == #"[{"key":"http.route","value":{"stringValue":"/x"}},{"key":"ok","value":{"boolValue":true}},{"key":"enduser.id","value":{"stringValue":"a\"b\n\u0001@example.com"}},{"key":"n","value":{"intValue":"1"}}]"#)
    }

    @Test func tokensThatPointNowhereAreSkipped() {
        #expect(StoredLogAttributes.typed(stored: #""0,7,d0,u9,x1,""#, extra: #"{"n":1}"#, column: Self.column)
            == #"[{"key":"n","value":{"intValue":"1"}}]"#)
    }

    @Test func theWriterStoresNullOnlyForExtraInOrder() {
        let inOrder = LogAttributesInExtra(sources: [.extra(0), .extra(1)], extraJSONBPositions: [1, 0], nestedOrderSurvivesJSONB: true)
        #expect(inOrder.tokens(.sqlite) == nil)
        #expect(inOrder.tokens(.postgres) == #""1,0""#)
        let lifted = LogAttributesInExtra(sources: [.column(.exceptionMessage, key: 0), .extra(0)], extraJSONBPositions: nil,
                                          nestedOrderSurvivesJSONB: true)
        #expect(lifted.tokens(.sqlite) == #""m0,0""#)
        #expect(LogAttributesInExtra(sources: [], extraJSONBPositions: nil, nestedOrderSurvivesJSONB: true).tokens(.postgres) == nil)
    }
}
