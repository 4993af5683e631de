import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// Every TraceQL feature docs/grafana.md lists (section "TraceQL features") against the shop
/// dataset, on both stores, over HTTP: the supported ones with a known answer, the unsupported
/// ones a 400 naming them. Then TraceQL metrics panels as Grafana 11 asks for them.
///
/// The dataset: five `shop` traces (0…4, a minute apart, newest last), each a server root
/// (`GET /cart` 10, 20, 30, 40 ms; `POST /pay` 1 s, failed) with a 2 ms `SELECT orders` client
/// child; trace 4's child has an `exception` event (`exception.type = Timeout`), trace 2's child a
/// link to trace 0 (`link.kind = retry`).
@Suite struct TraceQLConformanceTests {
    static let supported: [(String, [Int])] = [
        // Intrinsics, in both spellings, on either side of the comparison.
        (#"{ status = error }"#, [4]),
        (#"{ span:status = error && span:kind = server }"#, [4]),
        (#"{ kind = client && duration <= 2ms }"#, [4, 3, 2, 1, 0]),
        (#"{ span:duration > 500ms }"#, [4]),
        (#"{ name = "POST /pay" || span:name = "GET /cart" && span.ratio = 0 }"#, [4, 0]),
        (#"{ statusMessage = "upstream failed" }"#, [4]),
        (#"{ rootName = "POST /pay" && kind = client }"#, [4]),
        (#"{ trace:rootName = "GET /cart" && trace:rootService = "shop" && kind = client }"#, [3, 2, 1, 0]),
        (#"{ rootServiceName = "shop" && traceDuration >= 40ms }"#, [4, 3]),
        (#"{ trace:duration < 15ms }"#, [0]),
        (#"{ 500 <= span.http.status_code }"#, [4]),
        (#"{ 25ms > duration && kind = server }"#, [1, 0]),
        (#"{ nestedSetParent < 0 && true && status = error }"#, [4]),
        (#"{ nestedSetParent >= 0 && span.db.system = "postgresql" }"#, [4, 3, 2, 1, 0]),
        (#"{ false }"#, []),
        // nil: presence.
        (#"{ span.cached != nil && kind = server }"#, [4, 3, 2, 1, 0]),
        (#"{ statusMessage != nil }"#, [4]),
        (#"{ event.exception.type != nil }"#, [4]),
        (#"{ span.db.system = nil && kind = client }"#, []),
        // Events and links.
        (#"{ event:name = "exception" }"#, [4]),
        (#"{ event.exception.type = "Timeout" }"#, [4]),
        (#"{ link.link.kind = "retry" }"#, [2]),
        (#"{ link:traceID = "00000000000051510000000000000001" }"#, [2]),
        (#"{ link:spanID != nil }"#, [2]),
        // Spanset operators.
        (#"{ kind = server } >> { kind = client }"#, [4, 3, 2, 1, 0]),
        (#"{ kind = client } >> { kind = server }"#, []),
        (#"{ span.http.route = "/pay" } > { name = "SELECT orders" }"#, [4]),
        (#"{ kind = client } << { kind = server && span.cached = true }"#, [1]),
        (#"{ event:name = "exception" } < { }"#, [4]),
        (#"{ kind = server } ~ { kind = client }"#, []),
        (#"{ kind = client } !>> { kind = server }"#, [4, 3, 2, 1, 0]),
        (#"{ event:name = "exception" } !< { kind = server }"#, [3, 2, 1, 0]),
        (#"{ span.http.route = "/pay" } && { event.exception.type = "Timeout" }"#, [4]),
        (#"{ span.cached = true } || { link.link.kind = "retry" }"#, [2, 1]),
        (#"({ span.cached = true } || { status = error }) && { kind = client }"#, [4, 1]),
        (#"{ kind = server } &>> { kind = client }"#, [4, 3, 2, 1, 0]),
        // Pipelines.
        (#"{ } | count() > 1"#, [4, 3, 2, 1, 0]),
        (#"{ } | count() > 2"#, []),
        (#"{ } | avg(duration) > 100ms"#, [4]),
        (#"{ kind = server } | max(duration) >= 30ms"#, [4, 3, 2]),
        (#"{ } | min(duration) = 2ms"#, [4, 3, 2, 1, 0]),
        (#"{ kind = server } | sum(span.ratio) > 0.4"#, [4, 3, 2]),
        (#"{ } | by(kind) | count() = 1"#, [4, 3, 2, 1, 0]),
        (#"{ } | by(span.http.route) | count() = 1 | { span.http.route = "/pay" }"#, [4]),
        (#"{ } | { status = error }"#, [4]),
        (#"{ resource.service.name = "shop" } | select(span.http.route, status)"#, [4, 3, 2, 1, 0]),
        (#"{ kind = server } >> { kind = client } | count() = 1 | select(span.db.system) with(most_recent=true)"#, [4, 3, 2, 1, 0]),
        (#"{ } | by(kind, span.http.route) | count() = 1 | { span.http.route = "/pay" }"#, [4]),
        (#"{ } | by(kind) | coalesce() | count() = 2"#, [4, 3, 2, 1, 0]),
        (#"{ } | by(kind) | count() = 2"#, []),
        (#"({ } | count() > 1) && { status = error }"#, [4]),
        (#"({ kind = server } | avg(duration) > 25ms) || { span.cached = true }"#, [4, 3, 2, 1]),
        (#"{ kind = client } < ({ kind = server } | by(span.http.route) | count() = 1 | { span.http.route = "/pay" })"#, [4]),
        // Ids, children, the instrumentation scope, the parent, arithmetic, `!`.
        (#"{ span:id = "000000000000002a" }"#, [4]),
        (#"{ trace:id = "00000000000051510000000000000003" }"#, [2]),
        (#"{ span:parentID = "0000000000000015" }"#, [2]),
        (#"{ span:parentID = nil && span.cached = true }"#, [1]),
        (#"{ span:childCount = 1 && span.http.route = "/pay" }"#, [4]),
        (#"{ span:childCount > 0 && kind = client }"#, []),
        (#"{ instrumentation:name = "shop.http" && instrumentation:version = "1.2.0" && status = error }"#, [4]),
        (#"{ instrumentation.lib = "x" && span.cached = true }"#, [1]),
        (#"{ instrumentation.lib = "y" }"#, []),
        (#"{ parent.span.http.route = "/pay" }"#, [4]),
        (#"{ parent.cached = true }"#, [1]),
        (#"{ parent.resource.service.name = "shop" && parent.span.ratio >= 0.5 }"#, [4, 3, 2]),
        (#"{ span.http.status_code + 1 > 502 }"#, [4]),
        (#"{ duration / 2 >= 10ms && kind = server }"#, [4, 3, 2, 1]),
        (#"{ span.ratio * 4 - 1 = 2 }"#, [3]),
        (#"{ 1 + span.ratio * 2 * 2 <= 2 }"#, [1, 0]),
        (#"{ span.ratio / 0 > 0 }"#, []),
        (#"{ !(span.http.route = "/cart") && kind = server }"#, [4]),
        (#"{ !(span.http.route = "/cart" || span.db.system != nil) }"#, [4]),
        (#"{ !span.cached = true && kind = server }"#, [4, 3, 2, 0]),
    ]

    static let unsupported: [(String, String)] = [
        (#"{ nestedSetLeft > 1 }"#, "unsupported: nestedSetLeft"),
        (#"{ event:timeSinceStart > 1ms }"#, "unsupported: event:timeSinceStart"),
        (#"{ span.a % 2 = 1 }"#, "unsupported: % in a field expression"),
        (#"{ span.a ^ 2 > 1 }"#, "unsupported: ^ in a field expression"),
        (#"{ span.a + 1 > span.b }"#, "unsupported: an attribute on both sides"),
        (#"{ parent.span.a + 1 > 2 }"#, "unsupported: arithmetic on parent. attributes"),
        (#"{ } | select(parent.span.x)"#, "unsupported: parent.span.x outside a comparison"),
        (#"{ } | compare({ status = error }) by (name)"#, "unsupported: by() after compare()"),
        (#"({ } | rate()) && { }"#, "unsupported: a metrics function inside parentheses"),
        (#"{ nestedSetParent = 3 }"#, "unsupported: nestedSetParent compared"),
    ]

    /// A search over the dataset's minutes only: the server traces its own requests (newer).
    func search(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ pairs: [(String, String)]) async throws -> [[String: Any]] {
        let answer = try await server.get("/api/search?" + FormEncoding.query(pairs + Self.range(data)))
        #expect(answer.status == 200, "\(pairs): \(answer.body)")
        return try #require(answer.json, "\(answer.body)")["traces"] as? [[String: Any]] ?? []
    }

    /// The hour before the dataset's `now`, up to ten minutes before it.
    static func range(_ data: GrafanaDataset) -> [(String, String)] {
        [("start", data.startSeconds), ("end", String(data.now / GrafanaDataset.second - 600))]
    }

    @Test(arguments: StoreKind.available)
    func everySupportedFeatureHasAKnownAnswer(_ kind: StoreKind) async throws {
        try await TempoEndpointTests().withData(kind) { server, data in
            for (query, expected) in Self.supported {
                let traces = try await search(server, data, [("q", query), ("limit", "20")])
                #expect(traces.map { $0["traceID"] as? String } == expected.map { data.traceID($0).hex }, "\(query)")
            }

            // What the spansets hold: select() shows the attributes, by() and aggregates label the set.
            let selected = try await search(server, data, [("q", #"{ kind = server } | select(span.http.route, status, duration)"#), ("limit", "1")])
            let span = try #require((selected.first?["spanSets"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]]).first
            let attributes = (span?["attributes"] as? [[String: Any]] ?? []).map { ($0["key"] as? String ?? "", $0["value"] as? [String: Any] ?? [:]) }
            #expect(attributes.first { $0.0 == "span.http.route" }?.1["stringValue"] as? String == "/pay")
            #expect(attributes.first { $0.0 == "status" }?.1["stringValue"] as? String == "error")
            #expect(attributes.first { $0.0 == "duration" }?.1["intValue"] as? String == String(1000 * GrafanaDataset.millisecond))
            let grouped = try await search(server, data, [("q", #"{ } | by(kind) | count() = 1"#), ("limit", "1"), ("spss", "5")])
            let sets = try #require(grouped.first?["spanSets"] as? [[String: Any]])
            #expect(sets.count == 2 && sets.allSatisfy { $0["matched"] as? Int == 1 })
            let setAttributes = sets.compactMap { $0["attributes"] as? [[String: Any]] }.map { $0.map { $0["key"] as? String ?? "" } }
            #expect(setAttributes == [["by(kind)", "count()"], ["by(kind)", "count()"]])
            let union = try await search(server, data, [("q", #"{ kind = server } &>> { kind = client }"#), ("limit", "1")])
            #expect((union.first?["spanSets"] as? [[String: Any]])?.first?["matched"] as? Int == 2)
            let descendants = try await search(server, data, [("q", #"{ kind = server } >> { kind = client }"#), ("limit", "1")])
            #expect(((descendants.first?["spanSets"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]])?.map { $0["spanID"] as? String } == [SpanID(42).hex])
            let byTwo = try await search(server, data, [("q", #"{ } | by(kind, span.http.route) | count() = 1"#), ("limit", "1"), ("spss", "5")])
            let twoSets = try #require(byTwo.first?["spanSets"] as? [[String: Any]])
            #expect(twoSets.compactMap { $0["attributes"] as? [[String: Any]] }.map { $0.map { $0["key"] as? String ?? "" } }
                == [["by(kind)", "by(span.http.route)", "count()"], ["by(kind)", "count()"]])
            let coalesced = try await search(server, data, [("q", #"{ } | by(kind) | coalesce()"#), ("limit", "1"), ("spss", "5")])
            #expect((coalesced.first?["spanSets"] as? [[String: Any]])?.map { $0["matched"] as? Int } == [2])
            let ids = try await search(server, data, [("q", #"{ kind = client } | select(span:id, span:parentID, trace:id, span:childCount, instrumentation:name, instrumentation.lib)"#), ("limit", "1")])
            let idSpan = try #require(((ids.first?["spanSets"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]])?.first)
            let idValues = Dictionary((idSpan["attributes"] as? [[String: Any]] ?? []).map { ($0["key"] as? String ?? "", ($0["value"] as? [String: Any])?.values.first.map { "\($0)" } ?? "") }) { a, _ in a }
            #expect(idValues["span:id"] == SpanID(42).hex && idValues["span:parentID"] == SpanID(41).hex && idValues["trace:id"] == data.traceID(4).hex)
            #expect(idValues["span:childCount"] == "0" && idValues["instrumentation:name"] == "shop.http" && idValues["instrumentation.lib"] == "x")

            // Every unsupported feature: 400 naming it, in search and in metrics.
            for (query, fragment) in Self.unsupported {
                let answer = try await server.get("/api/search?" + FormEncoding.query([("q", query)]))
                #expect(answer.status == 400 && answer.body.contains(fragment), "\(query): \(answer.status) \(answer.body)")
            }
            for (query, fragment) in [(#"{ } | rate() + { } | rate()"#, "unsupported: arithmetic"),
                                      (#"{ } | compare({ status = error }, 0)"#, "compare(): the number of values must be greater than 0"),
                                      (#"{ } | compare({ status = error }, 10, 5)"#, "the selection's end"),
                                      (#"{ status = error }"#, "not a metrics query"),
                                      (#"{ } | rate() | count_over_time()"#, "unsupported: count_over_time after a metrics function")] {
                let answer = try await server.get("/api/metrics/query_range?" + FormEncoding.query([("q", query), ] + Self.range(data)))
                #expect(answer.status == 400 && answer.body.contains(fragment), "\(query): \(answer.status) \(answer.body)")
            }
            let metricsInSearch = try await server.get("/api/search?" + FormEncoding.query([("q", "{} | rate()")]))
            #expect(metricsInSearch.status == 400 && metricsInSearch.body.contains("/api/metrics/query_range"))
        }
    }
}
