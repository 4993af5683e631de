import Store
import StoreTestSupport
import Testing

/// `LokiQueries` on both stores: six records of two services, known answers for every method.
@Suite struct LokiQueriesContractTests {
    static let t0: Int64 = 1_700_000_000_000_000_000
    static let second: Int64 = 1_000_000_000
    static let traceID = String(repeating: "1", count: 32)
    static let shopResource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}},{"key":"deployment.environment","value":{"stringValue":"prod"}},{"key":"k8s.namespace.name","value":{"stringValue":"shop-ns"}}]}"#
    static let authResource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}},{"key":"deployment.environment","value":{"stringValue":"staging"}}]}"#

    /// A record stored at `t0 + seconds`; its own time is that too unless `time`/`observed` say otherwise.
    static func record(_ seconds: Int64, _ service: String, _ level: String, _ logger: String, _ message: String, resource: String,
                       trace: String? = nil, time: Int64? = nil, observed: Int64 = 0) -> LogRow {
        let stored = t0 + seconds * second
        return LogRow(timestampUnixNano: stored, timeUnixNano: time ?? stored, observedTimeUnixNano: observed, level: level,
                      loggerName: logger, message: message, traceID: trace, spanID: trace == nil ? nil : "2222222222222222",
                      userEmail: nil, department: nil, sessionID: nil, endpoint: nil, extra: "{}", exceptionType: nil,
                      exceptionMessage: nil, exceptionTraceback: nil, severityNumber: 9, severityText: nil, body: nil,
                      attributes: "[]", resource: resource, scope: "{}", flags: 0, eventName: nil, droppedAttributesCount: 0,
                      serviceName: service)
    }

    static let records = [
        record(1, "shop", "INFO", "shop.http", "cart updated", resource: shopResource, trace: traceID),
        record(2, "shop", "ERROR", "shop.http", "payment failed: card 4242", resource: shopResource, trace: traceID),
        record(3, "shop", "WARNING", "shop.disk", "disk almost full", resource: shopResource),
        record(4, "auth", "INFO", "auth", "token refreshed", resource: authResource),
        // No time of its own: the observed time counts.
        record(5, "auth", "DEBUG", "auth", "observed only", resource: authResource, time: 0, observed: t0 + 5 * second),
        // Neither: the arrival counts. No logger, no resource.
        record(6, "shop", "CRITICAL", "", "arrival time", resource: "{}", time: 0),
    ]
    static let all = ["cart updated", "payment failed: card 4242", "disk almost full", "token refreshed", "observed only", "arrival time"]

    /// Runs `body` on a store holding `records`. (Its closures say `async throws`: a `try` inside
    /// `#expect` alone does not make a closure throwing.)
    func withRecords(_ kind: StoreKind, _ body: @Sendable (any LokiQueries) async throws -> Void) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(WriteBatch(logs: Self.records))
            try await body(store.queries.loki)
        }
    }

    static func select(_ matchers: [LokiLabelMatch], labels: [LokiLabelMatch] = [], lines: [LokiLineMatch] = []) -> LokiSelection {
        LokiSelection(matchers: matchers, labelFilters: labels, lineFilters: lines)
    }

    static let shop = LokiLabelMatch("service_name", .equal, "shop")

    @Test(arguments: StoreKind.available)
    func linesWithTheirLabelsInTimeOrder(_ kind: StoreKind) async throws {
        try await withRecords(kind) { loki async throws in
            let end = Self.t0 + 10 * Self.second
            let newest = try await loki.lines(Self.select([Self.shop]), from: Self.t0, toExclusive: end, limit: 100, backward: true)
            #expect(newest.map(\.nanos) == [6, 3, 2, 1].map { Self.t0 + $0 * Self.second })
            #expect(newest.map(\.text) == ["arrival time", "disk almost full", "payment failed: card 4242", "cart updated"])
            #expect(newest.first?.labels == ["service_name": "shop", "level": "critical"])
            #expect(newest[2].labels == ["service_name": "shop", "level": "error", "logger": "shop.http", "trace_id": Self.traceID,
                                         "deployment_environment": "prod", "k8s_namespace_name": "shop-ns"])
            let oldest = try await loki.lines(Self.select([Self.shop]), from: Self.t0, toExclusive: end, limit: 2, backward: false)
            #expect(oldest.map(\.text) == ["cart updated", "payment failed: card 4242"])
            // from ≤ time < toExclusive, on the record's own time, else its observed time.
            let window = try await loki.lines(Self.select([LokiLabelMatch("service_name", .matches, ".+")]), from: Self.t0 + 2 * Self.second,
                                              toExclusive: Self.t0 + 5 * Self.second, limit: 100, backward: true)
            #expect(window.map(\.text) == ["token refreshed", "disk almost full", "payment failed: card 4242"])
            let observed = try await loki.lines(Self.select([LokiLabelMatch("level", .equal, "debug")]), from: Self.t0 + 5 * Self.second,
                                                toExclusive: Self.t0 + 5 * Self.second + 1, limit: 100, backward: true)
            #expect(observed.map(\.nanos) == [Self.t0 + 5 * Self.second])
            #expect(observed.first?.labels == ["service_name": "auth", "level": "debug", "logger": "auth", "deployment_environment": "staging"])
        }
    }

    @Test(arguments: StoreKind.available)
    func selectionsFollowLokiRules(_ kind: StoreKind) async throws {
        try await withRecords(kind) { loki async throws in
            let cases: [(LokiSelection, [String])] = [
                (Self.select([LokiLabelMatch("level", .equal, "warn")]), ["disk almost full"]),
                (Self.select([LokiLabelMatch("detected_level", .equal, "WARNING")]), ["disk almost full"]),
                (Self.select([LokiLabelMatch("level", .equal, "fatal")]), ["arrival time"]),
                (Self.select([LokiLabelMatch("level", .equal, "nonsense")]), []),
                (Self.select([LokiLabelMatch("level", .notEqual, "nonsense")]), Self.all),
                (Self.select([LokiLabelMatch("level", .notEqual, "info")]), ["payment failed: card 4242", "disk almost full", "observed only", "arrival time"]),
                (Self.select([LokiLabelMatch("level", .matches, "warn|error")]), ["payment failed: card 4242", "disk almost full"]),
                (Self.select([LokiLabelMatch("level", .notMatches, "warn|error|info")]), ["observed only", "arrival time"]),
                (Self.select([LokiLabelMatch("logger", .equal, "")]), ["arrival time"]),
                (Self.select([LokiLabelMatch("logger", .matches, "shop\\..*")]), ["cart updated", "payment failed: card 4242", "disk almost full"]),
                (Self.select([LokiLabelMatch("logger", .matches, "shop")]), []),
                (Self.select([LokiLabelMatch("k8s_namespace_name", .matches, "shop-.*")]), ["cart updated", "payment failed: card 4242", "disk almost full"]),
                (Self.select([LokiLabelMatch("deployment_environment", .notEqual, "prod")]), ["token refreshed", "observed only", "arrival time"]),
                (Self.select([LokiLabelMatch("trace_id", .equal, Self.traceID)]), ["cart updated", "payment failed: card 4242"]),
                (Self.select([LokiLabelMatch("span_id", .equal, "2222222222222222")]), ["cart updated", "payment failed: card 4242"]),
                // A label no stream has is "" everywhere.
                (Self.select([LokiLabelMatch("job", .equal, "x")]), []),
                (Self.select([LokiLabelMatch("job", .notEqual, "x")]), Self.all),
                (Self.select([LokiLabelMatch("job", .matches, ".*")]), Self.all),
                (Self.select([LokiLabelMatch("job", .matches, ".+")]), []),
                (Self.select([LokiLabelMatch("job", .notMatches, ".+")]), Self.all),
                (Self.select([LokiLabelMatch("__error__", .equal, "")]), Self.all),
                (Self.select([Self.shop], labels: [LokiLabelMatch("level", .equal, "error")]), ["payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, "card")]), ["payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, "")]), ["cart updated", "payment failed: card 4242", "disk almost full", "arrival time"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.notContains, "card")]), ["cart updated", "disk almost full", "arrival time"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, "Card")]), []),
                (Self.select([Self.shop], lines: [LokiLineMatch(.matches, "[0-9]{4}")]), ["payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.notMatches, "^(cart|disk)")]), ["payment failed: card 4242", "arrival time"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.matches, "(?i)CART"), LokiLineMatch(.notContains, "payment")]), ["cart updated"]),
                // A whole trace or span id as a needle also finds the records that carry it.
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, Self.traceID)]), ["cart updated", "payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, Self.traceID.uppercased())]), ["cart updated", "payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, "2222222222222222")]), ["cart updated", "payment failed: card 4242"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.notContains, Self.traceID)]), ["disk almost full", "arrival time"]),
                (Self.select([Self.shop], lines: [LokiLineMatch(.contains, String(Self.traceID.dropLast()))]), []),
                // Alternatives: one of each group holds.
                (LokiSelection(matchers: [Self.shop], anyOf: [LokiAlternatives(labels: [LokiLabelMatch("level", .equal, "warn")],
                                                                               lines: [LokiLineMatch(.contains, "card")])]),
                 ["payment failed: card 4242", "disk almost full"]),
                (LokiSelection(matchers: [Self.shop], anyOf: [LokiAlternatives(labels: [LokiLabelMatch("level", .equal, "warn")],
                                                                               lines: [LokiLineMatch(.contains, "card")]),
                                                              LokiAlternatives(labels: [LokiLabelMatch("logger", .equal, "shop.disk")])]),
                 ["disk almost full"]),
                (LokiSelection(matchers: [Self.shop], anyOf: [LokiAlternatives()]), []),
            ]
            for (selection, expected) in cases {
                let lines = try await loki.lines(selection, from: Self.t0, toExclusive: Self.t0 + 10 * Self.second, limit: 100, backward: false)
                #expect(lines.map(\.text) == expected, "\(selection)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func bucketCountsPerLabelSet(_ kind: StoreKind) async throws {
        try await withRecords(kind) { loki async throws in
            let any = Self.select([LokiLabelMatch("service_name", .matches, ".+")])
            func counts(_ groupBy: [String], origin: Int64, width: Int64, last: Int64, limit: Int = 100) async throws(StoreError) -> Set<String> {
                let rows = try await loki.bucketCounts(LokiBucketQuery(selection: any, groupBy: groupBy, origin: origin, width: width, last: last, limit: limit))
                return Set(rows.map { row in
                    let labels = row.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    return "{\(labels)} \(row.bucket) \(Int(row.lines)) \(Int(row.bytes))"
                })
            }
            // Buckets of 2 s from t0: (t0, t0+2s] is 0, (t0+2s, t0+4s] is 1, …
            #expect(try await counts(["level"], origin: Self.t0, width: 2 * Self.second, last: Self.t0 + 6 * Self.second) == [
                "{level=info} 0 1 12", "{level=error} 0 1 25",
                "{level=warn} 1 1 16", "{level=info} 1 1 15",
                "{level=debug} 2 1 13", "{level=critical} 2 1 12",
            ])
            // origin < time ≤ last.
            #expect(try await counts([], origin: Self.t0 + Self.second, width: 10 * Self.second, last: Self.t0 + 5 * Self.second) == ["{} 0 4 69"])
            // Labels a record lacks are left out; a label no stream has groups everything together.
            #expect(try await counts(["service_name", "deployment_environment"], origin: Self.t0, width: 10 * Self.second, last: Self.t0 + 10 * Self.second) == [
                "{deployment_environment=prod,service_name=shop} 0 3 53",
                "{deployment_environment=staging,service_name=auth} 0 2 28",
                "{service_name=shop} 0 1 12",
            ])
            #expect(try await counts(["job"], origin: Self.t0, width: 10 * Self.second, last: Self.t0 + 10 * Self.second) == ["{} 0 6 93"])
            #expect(try await counts(["level"], origin: Self.t0, width: 2 * Self.second, last: Self.t0 + 6 * Self.second, limit: 2).count == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func labelNamesAndValues(_ kind: StoreKind) async throws {
        try await withRecords(kind) { loki async throws in
            let start = Self.t0, end = Self.t0 + 10 * Self.second
            #expect(try await loki.labelNames(nil, start: start, end: end, sampleRows: 100)
                    == ["deployment_environment", "detected_level", "k8s_namespace_name", "level", "logger", "service_name"])
            let auth = Self.select([LokiLabelMatch("service_name", .equal, "auth")])
            #expect(try await loki.labelNames(auth, start: start, end: end, sampleRows: 100)
                    == ["deployment_environment", "detected_level", "level", "logger", "service_name"])
            #expect(try await loki.labelNames(nil, start: start, end: end, sampleRows: 1) == ["detected_level", "level", "service_name"])
            #expect(try await loki.labelNames(nil, start: end, end: end, sampleRows: 100) == [])

            func values(_ name: String, _ selection: LokiSelection? = nil, end: Int64 = end, sampleRows: Int = 100, limit: Int = 100) async throws(StoreError) -> [String] {
                try await loki.labelValues(name, selection, start: start, end: end, sampleRows: sampleRows, limit: limit)
            }
            #expect(try await values("service_name") == ["auth", "shop"])
            #expect(try await values("service_name", limit: 1) == ["auth"])
            #expect(try await values("service_name", end: Self.t0 + 2 * Self.second) == ["shop"])
            #expect(try await values("level") == ["critical", "debug", "error", "info", "warn"])
            #expect(try await values("detected_level", Self.select([Self.shop])) == ["critical", "error", "info", "warn"])
            #expect(try await values("logger") == ["auth", "shop.disk", "shop.http"])
            #expect(try await values("trace_id") == [Self.traceID])
            #expect(try await values("deployment_environment") == ["prod", "staging"])
            #expect(try await values("deployment_environment", auth) == ["staging"])
            #expect(try await values("deployment_environment", sampleRows: 1) == [])
            #expect(try await values("deployment_environment", sampleRows: 2) == ["staging"])
            #expect(try await values("job") == [])
        }
    }

    @Test(arguments: StoreKind.available)
    func seriesAndIndexStatistics(_ kind: StoreKind) async throws {
        try await withRecords(kind) { loki async throws in
            let start = Self.t0, end = Self.t0 + 10 * Self.second
            // Every stream label: the resource's attributes too.
            let prod = ["deployment_environment": "prod", "k8s_namespace_name": "shop-ns"]
            let staging = ["deployment_environment": "staging"]
            #expect(try await loki.series([], start: start, end: end, limit: 100) == [
                ["service_name": "auth", "level": "debug", "logger": "auth"].merging(staging) { $1 },
                ["service_name": "auth", "level": "info", "logger": "auth"].merging(staging) { $1 },
                ["service_name": "shop", "level": "critical"],
                ["service_name": "shop", "level": "error", "logger": "shop.http"].merging(prod) { $1 },
                ["service_name": "shop", "level": "info", "logger": "shop.http"].merging(prod) { $1 },
                ["service_name": "shop", "level": "warn", "logger": "shop.disk"].merging(prod) { $1 },
            ])
            let either = [Self.select([LokiLabelMatch("level", .equal, "error")]),
                          Self.select([LokiLabelMatch("service_name", .equal, "auth"), LokiLabelMatch("level", .equal, "debug")])]
            #expect(try await loki.series(either, start: start, end: end, limit: 100) == [
                ["service_name": "auth", "level": "debug", "logger": "auth"].merging(staging) { $1 },
                ["service_name": "shop", "level": "error", "logger": "shop.http"].merging(prod) { $1 },
            ])
            #expect(try await loki.series([], start: start, end: end, limit: 2).count == 2)
            #expect(try await loki.series([], start: start, end: Self.t0 + Self.second, limit: 100) == [
                ["service_name": "shop", "level": "info", "logger": "shop.http"].merging(prod) { $1 },
            ])

            #expect(try await loki.indexStats(Self.select([Self.shop]), start: start, end: end) == LokiIndexStats(streams: 4, entries: 4, bytes: 65))
            #expect(try await loki.indexStats(Self.select([Self.shop], lines: [LokiLineMatch(.contains, "card")]), start: start, end: end)
                    == LokiIndexStats(streams: 1, entries: 1, bytes: 25))
            #expect(try await loki.indexStats(Self.select([LokiLabelMatch("job", .equal, "x")]), start: start, end: end)
                    == LokiIndexStats(streams: 0, entries: 0, bytes: 0))
        }
    }

    /// `LokiSelection.jsonFields`: every JSON object whose top-level field has the text is kept
    /// (whichever of a key written twice has it, or with `\u` escapes); a JSON object whose
    /// field is something else is dropped.
    @Test(arguments: StoreKind.available)
    func jsonFieldsNarrowJSONLines(_ kind: StoreKind) async throws {
        let lines = [
            #"{"status":500,"m":"GET"}"#, #"{ "status" : "500" }"#, #"{"status":200}"#, #"{"status":5000}"#, "plain 500",
            #"{"status":1.50}"#, #"{"status":200,"status":500}"#, #"{"st\u0061tus":500}"#, #"{"status":true}"#, #"{"status":"500x"}"#,
            #"{"other":500}"#, #"{"status":500"#, #"["status",500]"#,
        ]
        try await withTestStore(kind) { store, _ in
            try await store.write(WriteBatch(logs: lines.enumerated().map { Self.record(Int64($0.offset), "json", "INFO", "j", $0.element, resource: "{}") }))
            func select(_ key: String, _ value: String) async throws -> Set<String> {
                let selection = LokiSelection(matchers: [LokiLabelMatch("service_name", .equal, "json")], jsonFields: [LokiJSONField(key, value)])
                return Set(try await store.queries.loki.lines(selection, from: Self.t0, toExclusive: Self.t0 + 100 * Self.second, limit: 100, backward: true).map(\.text))
            }
            let found = try await select("status", "500")
            let kept = [lines[0], lines[1], lines[6], lines[7]]
            #expect(found.isSuperset(of: kept), "\(found)")
            #expect(found.isDisjoint(with: [lines[2], lines[3], lines[5], lines[8], lines[9], lines[10]]), "\(found)")
            // Numbers and literals as written.
            let decimal = try await select("status", "1.50")
            #expect(decimal.contains(lines[5]) && !decimal.contains(lines[0]), "\(decimal)")
            let literal = try await select("status", "true")
            #expect(literal.contains(lines[8]) && !literal.contains(lines[0]), "\(literal)")
        }
    }

    @Test func aStoreThatOnlyWritesRefusesEveryQuery() async {
        let loki = StoreQueries.unsupported.loki
        let selection = Self.select([Self.shop])
        await #expect(throws: StoreError.self) { try await loki.lines(selection, from: 0, toExclusive: 1, limit: 1, backward: true) }
        await #expect(throws: StoreError.self) {
            try await loki.bucketCounts(LokiBucketQuery(selection: selection, groupBy: [], origin: 0, width: 1, last: 1, limit: 1))
        }
        await #expect(throws: StoreError.self) { try await loki.labelNames(nil, start: 0, end: 1, sampleRows: 1) }
        await #expect(throws: StoreError.self) { try await loki.labelValues("level", nil, start: 0, end: 1, sampleRows: 1, limit: 1) }
        await #expect(throws: StoreError.self) { try await loki.series([], start: 0, end: 1, limit: 1) }
        await #expect(throws: StoreError.self) { try await loki.indexStats(selection, start: 0, end: 1) }
    }
}
