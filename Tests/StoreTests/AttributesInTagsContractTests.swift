import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// A span's typed attributes are stored only where its flat `tags` cannot give them back
/// (`AttributesInTags`, migration 024): the column holds NULL (or, on PostgreSQL, the order of
/// `tags`' members, `"2,0,1"`) and every read gives back the typed attributes as they were sent.
@Suite struct AttributesInTagsContractTests {
    typealias Contract = QueryContractData

    /// One span's attributes in both forms, and whether `tags` gives the typed form back.
    struct Case {
        var span: String
        var tags: String
        var typed: String
        var keys: [String]
        /// nil: `tags` loses something (the writer stores the typed form).
        var derivable: Bool
        var nestedInJSONBOrder = true
        /// Whether migration 024 moves a stored span of this kind over (scalars only).
        var migrates: Bool
    }

    static let cases: [Case] = [
        // Every scalar kind, not in `jsonb`'s order (shorter keys first).
        Case(span: "00000000000000f1",
             tags: #"{"http.route":"/x \"q\" é","n":-1200,"ok":true,"ratio":0.5,"none":null,"whole":2.0}"#,
             typed: #"[{"key":"http.route","value":{"stringValue":"/x \"q\" é"}},{"key":"n","value":{"intValue":"-1200"}},{"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.5}},{"key":"none","value":{}},{"key":"whole","value":{"doubleValue":2.0}}]"#,
             keys: ["http.route", "n", "ok", "ratio", "none", "whole"], derivable: true, migrates: true),
        // Already in `jsonb`'s order.
        Case(span: "00000000000000f2", tags: #"{"a":"x","bb":1}"#,
             typed: #"[{"key":"a","value":{"stringValue":"x"}},{"key":"bb","value":{"intValue":"1"}}]"#,
             keys: ["a", "bb"], derivable: true, migrates: true),
        // Arrays and a kvlist in `jsonb`'s order.
        Case(span: "00000000000000f3", tags: #"{"list":["a",2,false,1.5,null,[]],"map":{"n":7,"inner":["x"]},"empty":{}}"#,
             typed: #"[{"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"},{"boolValue":false},{"doubleValue":1.5},{},{"arrayValue":{}}]}}},{"key":"map","value":{"kvlistValue":{"values":[{"key":"n","value":{"intValue":"7"}},{"key":"inner","value":{"arrayValue":{"values":[{"stringValue":"x"}]}}}]}}},{"key":"empty","value":{"kvlistValue":{}}}]"#,
             keys: ["list", "map", "empty"], derivable: true, migrates: false),
        // A kvlist whose order `jsonb` would change: typed on PostgreSQL only.
        Case(span: "00000000000000f4", tags: #"{"map":{"inner":"x","n":7}}"#,
             typed: #"[{"key":"map","value":{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}},{"key":"n","value":{"intValue":"7"}}]}}}]"#,
             keys: ["map"], derivable: true, nestedInJSONBOrder: false, migrates: false),
        // Bytes (base64 in `tags`) and a double with an exponent: typed everywhere.
        Case(span: "00000000000000f5", tags: #"{"raw":"AAH+/w==","tiny":1e-07}"#,
             typed: #"[{"key":"raw","value":{"bytesValue":"AAH+/w=="}},{"key":"tiny","value":{"doubleValue":1e-07}}]"#,
             keys: ["raw", "tiny"], derivable: false, migrates: false),
        // No attributes.
        Case(span: "00000000000000f6", tags: "{}", typed: "[]", keys: [], derivable: true, migrates: true),
    ]

    static let trace = Contract.traceID("f")

    static func row(_ item: Case, withLayout: Bool) -> SpanRow {
        var row = Contract.spanRow(Contract.SpanSpec(trace: trace, span: item.span, name: "op", service: "shop",
                                                     start: Contract.t0 + Int64(item.span.suffix(1))! * Contract.millisecond, durationMs: 1))
        row.tags = item.tags
        row.attributes = item.typed
        if withLayout && item.derivable {
            row.attributesInTags = AttributesInTags(jsonbPositions: AttributesInTags.jsonbPositions(of: item.keys),
                                                    nestedOrderSurvivesJSONB: item.nestedInJSONBOrder)
        }
        return row
    }

    static func batch(withLayout: Bool) -> WriteBatch {
        let rows = cases.map { row($0, withLayout: withLayout) }
        return WriteBatch(traces: [Contract.traceRow(Contract.SpanSpec(trace: trace, span: cases[0].span, name: "op", service: "shop",
                                                                       start: Contract.t0, durationMs: 10))], spans: rows)
    }

    /// The column as stored, per span.
    static func stored(_ database: TestDatabase) async throws -> [String: String?] {
        var stored: [String: String?] = [:]
        for row in try await database.rows("SELECT span_id, CAST(attributes AS TEXT) AS attributes FROM enterprise.trace_spans") {
            stored[row.string("span_id") ?? ""] = .some(row.string("attributes"))
        }
        return stored
    }

    static func json(_ text: String) -> NSObject? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? NSObject
    }

    /// Every read of the typed attributes (Tempo's spans of a trace, the query API's trace)
    /// gives each case's typed form back, in its order.
    static func expectReadsBack(_ store: any TelemetryStore, exactText: Bool) async throws {
        let tempo = try await store.queries.tempo.spans(ofTrace: trace)
        let detail = try #require(try await store.queries.traces.trace(id: trace))
        #expect(tempo.count == cases.count && detail.spans.count == cases.count)
        for item in cases {
            let fromTempo = try #require(tempo.first { $0.spanID == item.span }).attributes
            let fromDetail = try #require(detail.spans.first { $0.spanID == item.span }).attributes.text
            #expect(json(fromTempo) == json(item.typed), "\(item.span): \(fromTempo)")
            #expect(json(fromDetail) == json(item.typed), "\(item.span): \(fromDetail)")
            if exactText { #expect(fromTempo == item.typed) }
        }
    }

    @Test(arguments: StoreKind.available)
    func theWriterKeepsOnlyWhatTagsCannotGiveBack(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: true))
            let stored = try await Self.stored(database)
            for item in Self.cases {
                let column = try #require(stored[item.span])
                switch (kind, item.derivable) {
                case (_, false):
                    #expect(Self.json(column ?? "") == Self.json(item.typed), "\(item.span)")
                case (.sqlite, true):
                    #expect(column == nil, "\(item.span)")
                case (.postgres, true) where !item.nestedInJSONBOrder:
                    #expect(Self.json(column ?? "") == Self.json(item.typed), "\(item.span)")
                case (.postgres, true):
                    let positions = AttributesInTags.jsonbPositions(of: item.keys)
                    #expect(column == positions.map { "\"" + $0.map(String.init).joined(separator: ",") + "\"" }, "\(item.span)")
                }
            }
            try await Self.expectReadsBack(store, exactText: kind == .sqlite)
        }
    }

    /// Migration 024 on spans stored typed (as a store written before it holds them): the spans
    /// whose scalar `tags` give the typed form back lose it, the others keep it, and every read
    /// answers as before.
    @Test(arguments: StoreKind.available)
    func theMigrationMovesStoredSpansOver(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            try await store.write(Self.batch(withLayout: false))
            let before = try await Self.stored(database)
            #expect(before.values.allSatisfy { $0 != nil })
            let tempoBefore = try await store.queries.tempo.spans(ofTrace: Self.trace)
            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '024'")
            #expect(try await store.migrate() == ["024"])
            let after = try await Self.stored(database)
            for item in Self.cases {
                let column = try #require(after[item.span])
                if item.migrates {
                    let moved = kind == .sqlite || AttributesInTags.jsonbPositions(of: item.keys) == nil
                    #expect((column == nil) == moved, "\(item.span): \(column ?? "NULL")")
                    if !moved {
                        #expect(column == AttributesInTags.jsonbPositions(of: item.keys).map { "\"" + $0.map(String.init).joined(separator: ",") + "\"" },
                                "\(item.span)")
                    }
                } else {
                    #expect(Self.json(column ?? "") == Self.json(item.typed), "\(item.span)")
                }
            }
            let tempoAfter = try await store.queries.tempo.spans(ofTrace: Self.trace)
            #expect(tempoAfter.map { Self.json($0.attributes) } == tempoBefore.map { Self.json($0.attributes) })
            try await Self.expectReadsBack(store, exactText: kind == .sqlite)
        }
    }
}

/// `StoredAttributes.typed` on the texts each store gives back.
@Suite struct StoredAttributesTests {
    @Test func typedTextIsReturnedAsItIs() {
        let typed = #"[{"key":"raw","value":{"bytesValue":"AA=="}}]"#
        #expect(StoredAttributes.typed(stored: typed, tags: #"{"raw":"AA=="}"#) == typed)
        #expect(StoredAttributes.typed(stored: "[]", tags: #"{"a":1}"#) == "[]")
    }

    @Test func nullDerivesFromTagsAsWritten() {
        #expect(StoredAttributes.typed(stored: "", tags: #"{"b":"x\\\"y","a":[1,{"k":null}],"c":-0.25}"#)
            == #"[{"key":"b","value":{"stringValue":"x\\\"y"}},{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"kvlistValue":{"values":[{"key":"k","value":{}}]}}]}}},{"key":"c","value":{"doubleValue":-0.25}}]"#)
        #expect(StoredAttributes.typed(stored: "", tags: "{}") == "[]")
        #expect(StoredAttributes.typed(stored: "", tags: nil) == "[]")
    }

    /// PostgreSQL gives `jsonb` back with spaces and its members in its own order.
    @Test func positionsRestoreTheOrderSent() {
        let tags = #"{"n": 1, "ok": true, "http.route": "/x"}"#
        #expect(StoredAttributes.typed(stored: #""2,0,1""#, tags: tags)
            == #"[{"key":"http.route","value":{"stringValue":"/x"}},{"key":"n","value":{"intValue":"1"}},{"key":"ok","value":{"boolValue":true}}]"#)
        #expect(AttributesInTags.jsonbPositions(of: ["http.route", "n", "ok"]) == [2, 0, 1])
        #expect(AttributesInTags.jsonbPositions(of: ["n", "ok", "http.route"]) == nil)
        #expect(AttributesInTags.jsonbPositions(of: ["b", "a"]) == [1, 0])
    }

    @Test func malformedTagsGiveNoAttributes() {
        #expect(StoredAttributes.typed(stored: "", tags: #"{"a":"#) == "[]")
        #expect(StoredAttributes.typed(stored: "", tags: "[1]") == "[]")
    }
}
