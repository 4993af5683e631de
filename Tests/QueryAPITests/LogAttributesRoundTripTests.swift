import Foundation
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

/// A log record's typed attributes are stored only where its flat `extra` and the columns
/// attributes are lifted into cannot give them back (docs/partitioning.md, "Attributes stored
/// once"): records with every kind of attribute value, lifted ones among them, in an order
/// `jsonb` would change, with and without values that keep the typed form, read back through
/// the query API's record by id equal in meaning to what was sent, attribute order included,
/// with their resource and scope.
@Suite struct LogAttributesRoundTripTests {
    /// Every kind of value `extra` gives back and lifted ones, keys out of `jsonb`'s order.
    static let derivable: [KeyValue] = [
        KeyValue(key: "code.function", value: .string("pay \"now\" é\n")),
        KeyValue(key: "user.email", value: .string("a@example.com")),
        KeyValue(key: "ok", value: .bool(false)),
        KeyValue(key: "n", value: .int(-9_007_199_254_740_993)),
        KeyValue(key: "http.route", value: .string("/checkout/{id}")),
        KeyValue(key: "ratio", value: .double(0.1)),
        KeyValue(key: "whole", value: .double(3)),
        KeyValue(key: "exception.stacktrace", value: .string("Traceback:\n\tat pay()\r\n \u{1}\\")),
        KeyValue(key: "list", value: .array([.string("a"), .int(2), .bool(true), .double(1.5), .empty, .array([])])),
        KeyValue(key: "map", value: .kvlist([KeyValue(key: "n", value: .int(7)), KeyValue(key: "inner", value: .array([.string("x")]))])),
        KeyValue(key: "session_id", value: .string("s-1")),
        KeyValue(key: "exception.type", value: .string("CardError")),
        KeyValue(key: "exception.message", value: .string("declined")),
        KeyValue(key: "enduser.id", value: .string("second candidate: stays in extra")),
        KeyValue(key: "empty.map", value: .kvlist([])),
        KeyValue(key: "nothing", value: .empty),
    ]

    static let records: [(body: String, attributes: [KeyValue])] = [
        ("every kind", derivable),
        // A kvlist whose members `jsonb` would reorder.
        ("reordered kvlist", derivable + [KeyValue(key: "reordered", value: .kvlist([KeyValue(key: "zzz", value: .int(1)), KeyValue(key: "a", value: .int(2))]))]),
        // Values `extra` loses: bytes, doubles with an exponent or not finite, -0.0.
        ("lost in extra", derivable + [KeyValue(key: "raw", value: .bytes([0, 1, 254, 255])), KeyValue(key: "tiny", value: .double(1e-7)),
                                       KeyValue(key: "huge", value: .double(1e300)), KeyValue(key: "inf", value: .double(-.infinity)),
                                       KeyValue(key: "zero", value: .double(-0.0))]),
        // A repeated key; a lifted value that is not a string.
        ("repeated key", derivable + [KeyValue(key: "ok", value: .bool(true))]),
        ("lifted number", [KeyValue(key: "user.email", value: .int(42)), KeyValue(key: "a", value: .string("x"))]),
        // A logger name lifted from the attributes (the scope has no name).
        ("logger from attributes", [KeyValue(key: "logger.name", value: .string("from.attributes")), KeyValue(key: "b", value: .int(1))]),
        ("no attributes", []),
        ("every kind under a prefix", StoredContextKinds.everyKind("record")),
    ]

    static func request(start: UInt64) -> ExportLogsServiceRequest {
        let resource = Resource(attributes: [KeyValue(key: "service.name", value: .string("api"))] + StoredContextKinds.everyKind("resource"),
                                droppedAttributesCount: 2)
        let scope = InstrumentationScope(name: "api.http", version: "2.0", attributes: StoredContextKinds.everyKind("scope"))
        func record(_ index: Int) -> LogRecord {
            LogRecord(timeUnixNano: start + UInt64(index) * 1_000_000, observedTimeUnixNano: start + UInt64(index) * 1_000_000 + 7,
                      severityNumber: SeverityNumber(rawValue: 17), severityText: "ERROR", body: .string(records[index].body),
                      attributes: records[index].attributes)
        }
        let named = records.indices.filter { records[$0].body != "logger from attributes" }.map(record)
        let unnamed = records.indices.filter { records[$0].body == "logger from attributes" }.map(record)
        return ExportLogsServiceRequest(resourceLogs: [ResourceLogs(resource: resource, scopeLogs: [
            ScopeLogs(scope: scope, logRecords: named), ScopeLogs(scope: InstrumentationScope(name: ""), logRecords: unnamed),
        ])])
    }

    static func json(_ text: String) -> NSObject? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? NSObject
    }

    static func json(_ value: Any?) -> NSObject? {
        guard let value, JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? NSObject
    }

    @Test(arguments: StoreKind.available)
    func everyAttributeKindReadsBackInOrder(_ kind: StoreKind) async throws {
        let sent = Self.request(start: UInt64(Date.now.timeIntervalSince1970 - 60) * 1_000_000_000)
        try await TestServer.with(kind) { server in
            try await server.ingest(sent)
            let listed = try #require(try await server.get(server.api + "/api/observability/logs?limit=50").json?["logs"] as? [[String: Any]])
            #expect(listed.count == Self.records.count)
            for item in Self.records {
                let id = try #require(listed.first { $0["message"] as? String == item.body }?["id"] as? String, "\(item.body)")
                let answer = try await server.get(server.api + "/api/observability/logs/\(id)")
                #expect(answer.status == 200)
                let record = try #require(answer.json)
                var typed = JSONWriter()
                typed.otlp(item.attributes)
                #expect(Self.json(record["attributes"]) == Self.json(typed.text), "\(item.body): \(answer.body)")
                let keys = (record["attributes"] as? [[String: Any]] ?? []).map { $0["key"] as? String ?? "" }
                #expect(keys == item.attributes.map(\.key), "\(item.body)")
                var resource = JSONWriter()
                resource.otlp(sent.resourceLogs[0].resource, schemaUrl: "")
                #expect(Self.json(record["resource"]) == Self.json(resource.text), "\(item.body)")
                let scope = item.body == "logger from attributes" ? InstrumentationScope(name: "") : sent.resourceLogs[0].scopeLogs[0].scope
                var scopeJSON = JSONWriter()
                scopeJSON.otlp(scope, schemaUrl: "")
                #expect(Self.json(record["scope"]) == Self.json(scopeJSON.text), "\(item.body)")
            }
        }
    }
}

/// Attributes of every kind under one prefix.
enum StoredContextKinds {
    static func everyKind(_ prefix: String) -> [KeyValue] {
        [
            KeyValue(key: "\(prefix).string", value: .string("text with \"quotes\" and é")),
            KeyValue(key: "\(prefix).bool", value: .bool(true)),
            KeyValue(key: "\(prefix).int", value: .int(-9_007_199_254_740_993)),
            KeyValue(key: "\(prefix).double", value: .double(0.125)),
            KeyValue(key: "\(prefix).bytes", value: .bytes([0, 1, 254, 255])),
            KeyValue(key: "\(prefix).array", value: .array([.string("a"), .int(2), .bool(false), .double(1.5)])),
            KeyValue(key: "\(prefix).kvlist", value: .kvlist([KeyValue(key: "inner", value: .array([.string("x")])),
                                                             KeyValue(key: "n", value: .int(7))])),
            KeyValue(key: "\(prefix).empty", value: .empty),
        ]
    }
}
