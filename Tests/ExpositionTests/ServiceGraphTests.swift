@testable import Exposition
import Foundation
import Store
import Testing

/// `ServiceGraphPairing` (client and server halves of a call paired across commits, virtual
/// nodes for peers that never answered) and the series `ServiceGraphMetrics` writes.
@Suite struct ServiceGraphTests {
    static let second: Int64 = 1_000_000_000

    static func call(_ trace: String = "0af7651916cd43dd8448eb211c80319c", span: String, parent: String? = nil, service: String,
                     kind: Int32, milliseconds: Int64, failed: Bool = false, tags: String = "{}") -> SpanRow {
        let start: Int64 = 1_700_000_000_000_000_000
        return SpanRow(traceID: trace, spanID: span, parentSpanID: parent, operationName: "call", serviceName: service,
                       startTimeUnixNano: start, endTimeUnixNano: start + milliseconds * 1_000_000,
                       status: failed ? "error" : "completed", errorMessage: nil, tags: tags, logs: "[]", kind: kind,
                       traceState: nil, flags: 0, statusCode: failed ? 2 : 0, attributes: "[]", events: "[]", links: "[]",
                       resource: "{}", scope: "{}", droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0)
    }

    static let client = call(span: "00000000000000c1", service: "frontend", kind: 3, milliseconds: 120)
    static let server = call(span: "00000000000000s1", parent: "00000000000000c1", service: "payments", kind: 2, milliseconds: 100, failed: true)

    @Test func aClientAndItsServerSpanMakeOneEdgeWhicheverArrivesFirst() {
        for order in [[Self.client, Self.server], [Self.server, Self.client]] {
            var pairing = ServiceGraphPairing()
            let first = pairing.add([order[0]], now: 0)
            #expect(first.isEmpty)
            #expect(pairing.pendingCount == 1)
            let edges = pairing.add([order[1]], now: Self.second)
            #expect(edges == [ServiceGraphPairing.Edge(client: "frontend", server: "payments", connection: .direct, failed: true,
                                                      clientNanoseconds: 120_000_000, serverNanoseconds: 100_000_000)])
            #expect(pairing.pendingCount == 0)
        }
    }

    @Test func halvesOfOtherTracesOrInternalSpansDoNotPair() {
        var pairing = ServiceGraphPairing()
        let elsewhere = Self.call("1af7651916cd43dd8448eb211c80319c", span: "00000000000000s2", parent: "00000000000000c1",
                                  service: "payments", kind: 2, milliseconds: 1)
        let inner = Self.call(span: "00000000000000i1", parent: "00000000000000c1", service: "payments", kind: 1, milliseconds: 1)
        let edges = pairing.add([Self.client, elsewhere, inner], now: 0)
        #expect(edges.isEmpty)
        #expect(pairing.pendingCount == 2)
    }

    @Test func anUnansweredClientNamingItsPeerMakesAnEdgeToAVirtualNodeOnceItExpires() {
        var pairing = ServiceGraphPairing(wait: 10 * Self.second)
        let peer = Self.call(span: "00000000000000c2", service: "frontend", kind: 3, milliseconds: 40, tags: #"{"peer.service":"stripe"}"#)
        let database = Self.call(span: "00000000000000c3", service: "payments", kind: 3, milliseconds: 5, failed: true,
                                 tags: #"{"db.system":"postgresql","db.name":"orders"}"#)
        let silent = Self.call(span: "00000000000000c4", service: "frontend", kind: 3, milliseconds: 5)
        let added = pairing.add([peer, database, silent], now: 0)
        let early = pairing.expire(now: 9 * Self.second)
        #expect(added.isEmpty && early.isEmpty)
        let edges = pairing.expire(now: 10 * Self.second)
        #expect(edges == [
            ServiceGraphPairing.Edge(client: "frontend", server: "stripe", connection: .virtualNode, failed: false,
                                     clientNanoseconds: 40_000_000, serverNanoseconds: nil),
            ServiceGraphPairing.Edge(client: "payments", server: "orders", connection: .database, failed: true,
                                     clientNanoseconds: 5_000_000, serverNanoseconds: nil),
        ])
        #expect(pairing.pendingCount == 0)
    }

    @Test func halvesBeyondTheBoundAreDroppedAndCounted() {
        var pairing = ServiceGraphPairing(maxPending: 2)
        let clients = (1...3).map { Self.call(span: String(format: "%016x", $0), service: "frontend", kind: 3, milliseconds: 1) }
        _ = pairing.add(clients, now: 0)
        #expect(pairing.pendingCount == 2 && pairing.dropped == 1)
    }

    @Test func theSeriesAreTempoMetricsGeneratorNames() {
        let metrics = ServiceGraphMetrics(maxSeries: 10, clock: { 0 })
        metrics.record([Self.client])
        metrics.record([Self.server])
        let second = Self.call(span: "00000000000000c9", service: "frontend", kind: 3, milliseconds: 300)
        metrics.record([second, Self.call(span: "00000000000000s9", parent: "00000000000000c9", service: "payments", kind: 2, milliseconds: 250)])
        var writer = PrometheusTextWriter()
        metrics.write(into: &writer)
        let text = writer.text
        #expect(text.contains(#"traces_service_graph_request_total{client="frontend",server="payments"} 2"#))
        #expect(text.contains(#"traces_service_graph_request_failed_total{client="frontend",server="payments"} 1"#))
        #expect(text.contains(#"traces_service_graph_request_server_seconds_bucket{client="frontend",server="payments",le="0.1"} 1"#))
        #expect(text.contains(#"traces_service_graph_request_server_seconds_bucket{client="frontend",server="payments",le="0.4"} 2"#))
        #expect(text.contains(#"traces_service_graph_request_server_seconds_count{client="frontend",server="payments"} 2"#))
        #expect(text.contains(#"traces_service_graph_request_client_seconds_bucket{client="frontend",server="payments",le="0.2"} 1"#))
        #expect(text.contains(#"traces_service_graph_request_client_seconds_sum{client="frontend",server="payments"} 0.42"#))
        #expect(text.contains("# TYPE traces_service_graph_request_total counter"))
        #expect(text.contains("traces_service_graph_dropped_spans_total 0"))
    }
}
