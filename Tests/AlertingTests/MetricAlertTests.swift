import Foundation
import Store
import StoreTestSupport
import Testing

/// The `metric` rule type on OTLP metrics sent as the SDKs send them: a cumulative counter
/// per attribute set, an observable gauge, a histogram.
@Suite("metric rules on OTLP metrics", .serialized)
struct MetricAlertTests {
    /// An OTLP/JSON export of `metrics` (JSON objects) from service "shop".
    static func export(_ metrics: [String]) -> String {
        """
        {"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},
         "scopeMetrics":[{"scope":{"name":"shop.metrics"},"metrics":[\(metrics.joined(separator: ","))]}]}]}
        """
    }

    /// A monotonic cumulative sum (`Counter`) with one series per `shop`, each a list of (time, value).
    static func counter(_ series: [(shop: String, points: [(Int64, Int)])], start: Int64) -> String {
        let points = series.flatMap { shop, points in
            points.map { time, value in
                """
                {"asInt":"\(value)","startTimeUnixNano":"\(start)","timeUnixNano":"\(time)",
                 "attributes":[{"key":"shop","value":{"stringValue":"\(shop)"}}]}
                """
            }
        }
        return """
            {"name":"orders","unit":"{order}","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[\(points.joined(separator: ","))]}}
            """
    }

    /// An observable gauge's points.
    static func gauge(_ points: [(Int64, Double)]) -> String {
        let json = points.map { #"{"asDouble":\#($1),"timeUnixNano":"\#($0)"}"# }
        return #"{"name":"queue.depth","gauge":{"dataPoints":[\#(json.joined(separator: ","))]}}"#
    }

    @Test("a counter's rate and a gauge's average fire, then resolve; attribute filters pick the series", arguments: StoreKind.available)
    func firesAndResolves(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database) { sightline in
                try await sightline.disableDefaultRules()
                // north sells 600 orders between 45 s and 40 s ago: 10 per second over the 1-minute
                // window while both points are in it, 0 once the first has left (~15 s later).
                // south sells 6: 0.1 per second.
                let start = nowNano(minus: 300)
                let (first, second) = (nowNano(minus: 45), nowNano(minus: 40))
                let counter = Self.counter([("north", [(first, 100), (second, 700)]), ("south", [(first, 10), (second, 16)])], start: start)
                let now = nowNano()
                let sent = try await http(.POST, sightline.otlp + "/v1/metrics", raw: Self.export([counter, Self.gauge([(now - 5_000_000_000, 95)])]))
                #expect(sent.status == 200, "\(sent.body)")

                let common: [String: Any] = ["condition": "gt", "window_minutes": 1, "evaluation_interval_seconds": 1, "cooldown_minutes": 0,
                                             "notification_channels": [], "metric_type": "metric"]
                let north = try await sightline.createRule(common.merging([
                    "name": "North orders", "threshold": 5, "metric_name": "orders", "metric_aggregation": "rate",
                    "metric_attributes": ["shop": "north"], "service_name": "shop",
                ]) { _, new in new })
                let south = try await sightline.createRule(common.merging([
                    "name": "South orders", "threshold": 5, "metric_name": "orders", "metric_aggregation": "rate",
                    "metric_attributes": ["shop": "south"],
                ]) { _, new in new })
                let queue = try await sightline.createRule(common.merging([
                    "name": "Queue depth", "threshold": 50, "metric_name": "queue.depth",
                ]) { _, new in new })

                #expect(try await eventually(20) {
                    try await sightline.instances(ruleID: north).first?["status"] as? String == "firing"
                })
                let firing = try #require(try await sightline.instances(ruleID: north).first)
                #expect((firing["metric_value"] as? Double).map { abs($0 - 10) < 1e-9 } == true, "\(firing)")
                #expect(firing["message"] as? String == "North orders: rate(orders) is 10 (threshold: > 5)")
                #expect((firing["labels"] as? [String: String])?["metric_name"] == "orders")
                let stored = try await sightline.rule(north)
                #expect(stored["metric_name"] as? String == "orders")
                #expect(stored["metric_aggregation"] as? String == "rate")
                #expect(stored["metric_attributes"] as? [String: String] == ["shop": "north"])

                #expect(try await eventually(20) {
                    try await sightline.instances(ruleID: queue).first?["status"] as? String == "firing"
                })
                #expect(try await sightline.instances(ruleID: queue).first?["metric_value"] as? Double == 95)

                // South's series alone: measured, never firing.
                #expect(try await eventually(10) { (try await sightline.rule(south)["last_value"] as? Double) != nil })
                let southValue = try #require(try await sightline.rule(south)["last_value"] as? Double)
                #expect(abs(southValue - 0.1) < 1e-9)
                #expect(try await sightline.instances(ruleID: south).isEmpty)

                // The queue drains: twenty readings of 1 bring the average to 5.5.
                let drained = (1...20).map { (nowNano(minus: Double($0) / 10), 1.0) }
                #expect(try await http(.POST, sightline.otlp + "/v1/metrics", raw: Self.export([Self.gauge(drained)])).status == 200)
                #expect(try await eventually(20) {
                    try await sightline.instances(ruleID: queue).first?["status"] as? String == "resolved"
                })
                // North's first point leaves the window: the rate falls to 0 and the alert resolves.
                #expect(try await eventually(40) {
                    try await sightline.instances(ruleID: north).first?["status"] as? String == "resolved"
                })
                #expect(try await sightline.instances(ruleID: north).count == 1)
            }
        }
    }

    @Test("preview of a histogram's p95, max and average; no points is no data", arguments: StoreKind.available)
    func histogramPreview(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                // 100 requests: 10 up to 0.5 s, 90 between 0.5 and 1 s; 70 s in all.
                let histogram = """
                    {"name":"http.server.request.duration","unit":"s","histogram":{"aggregationTemporality":2,"dataPoints":[
                     {"count":"100","sum":70,"max":0.99,"bucketCounts":["0","10","90","0"],"explicitBounds":[0.1,0.5,1],
                      "startTimeUnixNano":"\(nowNano(minus: 600))","timeUnixNano":"\(nowNano(minus: 5))"}]}}
                    """
                #expect(try await http(.POST, sightline.otlp + "/v1/metrics", raw: Self.export([histogram])).status == 200)
                func preview(_ aggregation: String, name: String = "http.server.request.duration") async throws -> Any? {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules/preview", json: [
                        "name": "Latency", "metric_type": "metric", "metric_name": name, "metric_aggregation": aggregation,
                        "condition": "gt", "threshold": 0.9,
                    ])
                    #expect(answer.status == 200, "\(answer.body)")
                    return answer.json["value"]
                }
                // Interpolated in the (0.5, 1] bucket: 0.5 + 0.5 × 85/90.
                let p95 = try #require(try await preview("p95") as? Double)
                #expect(abs(p95 - (0.5 + 0.5 * 85 / 90)) < 1e-9)
                #expect(try await preview("max") as? Double == 0.99)
                #expect(try await preview("avg") as? Double == 0.7)
                #expect(try await preview("avg", name: "nothing.here") is NSNull)
            }
        }
    }
}
