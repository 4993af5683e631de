import Foundation
import StoreTestSupport
import Testing

/// Loki's log volume endpoints (Grafana's logs volume and Logs Drilldown's service list): bytes
/// of the selected lines per label set, largest first.
@Suite struct LokiVolumeTests {
    static let shopBytes = GrafanaDataset.shopRecords.reduce(0) { $0 + $1.message.utf8.count }
    static let authBytes = "token refreshed".utf8.count

    func get(_ server: GrafanaTestServer, _ path: String, _ parameters: [(String, String)]) async throws -> [String: Any] {
        let answer = try await server.get(path + "?" + FormEncoding.query(parameters))
        #expect(answer.status == 200, "\(answer.body)")
        let object = try #require(answer.json, "\(answer.body)")
        #expect(object["status"] as? String == "success")
        return try #require(object["data"] as? [String: Any], "\(answer.body)")
    }

    @Test(arguments: StoreKind.available)
    func volumePerLabelSetLargestFirst(_ kind: StoreKind) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            try await server.ingest(data.logs)
            let range = [("start", data.startNanos), ("end", data.endNanos)]

            // By the selector's labels: one sample per service, at `end`.
            let services = try await get(server, "/loki/api/v1/index/volume", range + [("query", #"{service_name=~".+"}"#)])
            #expect(services["resultType"] as? String == "vector")
            let result = try #require(services["result"] as? [[String: Any]])
            #expect(result.map { $0["metric"] as? [String: String] ?? [:] } == [["service_name": "shop"], ["service_name": "auth"]])
            #expect(result.map { ($0["value"] as? [Any])?.last as? String } == [String(Self.shopBytes), String(Self.authBytes)])
            #expect(result.allSatisfy { (($0["value"] as? [Any])?.first as? NSNumber)?.int64Value == Int64(data.endSeconds) })

            // By other labels, at most `limit` series.
            let levels = try await get(server, "/loki/api/v1/index/volume",
                                       range + [("query", #"{service_name="shop"}"#), ("targetLabels", "level"), ("limit", "2")])
            let top = try #require(levels["result"] as? [[String: Any]])
            // info: 3 lines ("user logged in", "cart updated" twice); error: the two payment lines.
            #expect(top.map { $0["metric"] as? [String: String] ?? [:] } == [["level": "error"], ["level": "info"]])

            // Per step: the same bytes spread over the range.
            let matrix = try await get(server, "/loki/api/v1/index/volume_range",
                                       range + [("query", #"{service_name="shop"}"#), ("step", "300s")])
            #expect(matrix["resultType"] as? String == "matrix")
            let series = try #require((matrix["result"] as? [[String: Any]])?.first)
            let values = (series["values"] as? [[Any]] ?? []).compactMap { ($0.last as? String).flatMap(Int.init) }
            #expect(values.reduce(0, +) == Self.shopBytes)

            // Bad input names its parameter.
            for (parameters, named) in [([("query", #"sum(rate({service_name="shop"}[1m]))"#)], "query"),
                                        ([("query", #"{service_name="shop"}"#), ("aggregateBy", "labels")], "aggregateBy"),
                                        ([("query", #"{service_name="shop"}"#), ("targetLabels", "a-b")], "targetLabels")] {
                let answer = try await server.get("/loki/api/v1/index/volume?" + FormEncoding.query(range + parameters))
                #expect(answer.status == 400 && answer.body.contains(named), "\(parameters): \(answer.body)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func detectedLabelsAndFields(_ kind: StoreKind) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            try await server.ingest(data.logs)
            let range = [("start", data.startNanos), ("end", data.endNanos)]
            let labels = try await server.get("/loki/api/v1/detected_labels?" + FormEncoding.query(range + [("query", #"{service_name="shop"}"#)]))
            #expect(labels.status == 200, "\(labels.body)")
            let detected = try #require(labels.json?["detectedLabels"] as? [[String: Any]], "\(labels.body)")
            let byName = Dictionary(uniqueKeysWithValues: detected.map { ($0["label"] as? String ?? "", $0["cardinality"] as? Int ?? -1) })
            // shop's streams: 4 levels, one logger, its resource's labels; ids are fields, not labels.
            #expect(byName == ["service_name": 1, "level": 4, "detected_level": 4, "logger": 1, "deployment_environment": 1, "k8s_namespace_name": 1], "\(labels.body)")

            let fields = try await server.get("/loki/api/v1/detected_fields?" + FormEncoding.query(range + [("query", #"{service_name="shop"}"#)]))
            #expect(fields.status == 200, "\(fields.body)")
            let found = try #require(fields.json?["fields"] as? [[String: Any]], "\(fields.body)")
            #expect(found.map { $0["label"] as? String } == ["trace_id", "span_id"])
            #expect(found.map { $0["cardinality"] as? Int } == [1, 1])
            #expect(try await server.get("/loki/api/v1/detected_labels?query=%7B").status == 400)
        }
    }
}
