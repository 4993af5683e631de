import Foundation
import Store
import StoreTestSupport
import Testing

/// `MetricQueries` on both databases: names, series per step with attribute filters, the
/// alert aggregates, and retention's bounded deletes, against values computed here; and the
/// `memory_percent` alert metric from host readings.
@Suite struct MetricQueriesContractTests {
    static let end: Int64 = 1_800_000_000_000_000_000
    static let second: Int64 = 1_000_000_000

    static func series(_ id: String, _ name: String, type: String = "gauge", temporality: String = "", attributes: String = "{}",
                       service: String = "shop", unit: String = "1") -> MetricSeriesRow {
        MetricSeriesRow(seriesID: id, name: name, description: "about \(name)", unit: unit, type: type, temporality: temporality,
                        monotonic: type == "sum", serviceName: service, resource: #"{"service.name":"\#(service)"}"#, scope: "test",
                        attributes: attributes, lastSeenUnixNano: end)
    }

    static func batch() -> WriteBatch {
        var batch = WriteBatch()
        batch.metricSeries = [
            series("a000000000000001", "cpu", attributes: #"{"core":"0"}"#),
            series("a000000000000002", "cpu", attributes: #"{"core":"1"}"#),
            series("b000000000000001", "orders", type: "sum", temporality: "cumulative", attributes: #"{"shop":"north"}"#),
            series("c000000000000001", "latency", type: "histogram", temporality: "cumulative", unit: "s"),
        ]
        // cpu core 0: 10, 20, 30, 40 at 40, 30, 20, 10 s before the end; core 1: 50 at 5 s before.
        for (index, value) in [10.0, 20, 30, 40].enumerated() {
            batch.metricPoints.append(MetricPointRow(seriesID: "a000000000000001", timeUnixNano: end - Int64(40 - 10 * index) * second,
                                                     startTimeUnixNano: 0, value: value))
        }
        batch.metricPoints.append(MetricPointRow(seriesID: "a000000000000002", timeUnixNano: end - 5 * second, startTimeUnixNano: 0, value: 50))
        // orders: cumulative 100 → 160 over the window, and one old point outside it.
        batch.metricPoints.append(MetricPointRow(seriesID: "b000000000000001", timeUnixNano: end - 50 * second, startTimeUnixNano: 0, value: 100))
        batch.metricPoints.append(MetricPointRow(seriesID: "b000000000000001", timeUnixNano: end - 1 * second, startTimeUnixNano: 0, value: 160))
        batch.metricPoints.append(MetricPointRow(seriesID: "b000000000000001", timeUnixNano: end - 7200 * second, startTimeUnixNano: 0, value: 1))
        // latency: cumulative buckets ≤0.1, ≤1, >1; 10 observations first, 110 later (100 new: 0, 90, 10).
        batch.metricPoints.append(MetricPointRow(seriesID: "c000000000000001", timeUnixNano: end - 50 * second, startTimeUnixNano: 0,
                                                 count: 10, sum: 1, buckets: #"{"bounds":[0.1,1],"counts":[10,0,0]}"#))
        batch.metricPoints.append(MetricPointRow(seriesID: "c000000000000001", timeUnixNano: end - 1 * second, startTimeUnixNano: 0,
                                                 count: 110, sum: 71, max: 3, buckets: #"{"bounds":[0.1,1],"counts":[10,90,10]}"#))
        return batch
    }

    static func filter(_ name: String, seconds: Int64 = 60, attributes: [String: String] = [:]) -> MetricSeriesFilter {
        MetricSeriesFilter(name: name, sinceUnixNano: end - seconds * second, untilUnixNano: end, attributes: attributes)
    }

    @Test("names, steps, aggregates and deletes", arguments: StoreKind.available)
    func metricQueries(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            try await store.write(Self.batch())
            let metrics = store.queries.metrics

            let names = try await metrics.metricNames(sinceUnixNano: Self.end - 3600 * Self.second, limit: 100)
            #expect(names.map(\.name) == ["cpu", "latency", "orders"])
            #expect(names.first { $0.name == "cpu" }?.seriesCount == 2)
            #expect(names.first { $0.name == "latency" }?.unit == "s")
            #expect(names.first { $0.name == "orders" }?.type == "sum")

            // Steps of 20 s over the last 60 s: core 0's points fall into two steps.
            let steps = try await metrics.series(Self.filter("cpu", attributes: ["core": "0"]), stepNanoseconds: 20 * Self.second, limit: 100)
            #expect(steps.allSatisfy { $0.seriesID == "a000000000000001" })
            #expect(steps.map(\.points).reduce(0, +) == 4)
            #expect(steps.compactMap(\.maximum).max() == 40)
            #expect(steps.count == 2 || steps.count == 3)
            let all = try await metrics.series(Self.filter("cpu"), stepNanoseconds: 3600 * Self.second, limit: 100)
            #expect(Set(all.map(\.seriesID)) == ["a000000000000001", "a000000000000002"])
            #expect(all.first { $0.seriesID == "a000000000000001" }?.average == 25)
            let service = try await metrics.series(Self.filter("cpu", attributes: ["service.name": "shop"]), stepNanoseconds: 3600 * Self.second, limit: 100)
            #expect(service.count == 2, "a resource attribute filters too")
            #expect(try await metrics.series(Self.filter("cpu", attributes: ["core": "9"]), stepNanoseconds: Self.second, limit: 100).isEmpty)

            // A cumulative histogram's step holds its latest count and sum, not their total.
            let latency = try await metrics.series(Self.filter("latency"), stepNanoseconds: 3600 * Self.second, limit: 10)
            #expect(latency.count == 1 && latency.first?.count == 110 && latency.first?.sum == 71)

            #expect(try await metrics.aggregate(.avg, of: Self.filter("cpu")) == 30)
            #expect(try await metrics.aggregate(.max, of: Self.filter("cpu")) == 50)
            #expect(try await metrics.aggregate(.p95, of: Self.filter("cpu")).map { abs($0 - 48) < 1e-9 } == true)
            #expect(try await metrics.aggregate(.rate, of: Self.filter("orders")).map { abs($0 - 1) < 1e-9 } == true, "60 over 60 s")
            #expect(try await metrics.aggregate(.avg, of: Self.filter("latency")).map { abs($0 - 72.0 / 120) < 1e-9 } == true)
            // The window's 100 new observations: 95th at rank 95 of 0, 90, 10 → inside (1, …]: the last bound.
            #expect(try await metrics.aggregate(.p95, of: Self.filter("latency")) == 1)
            #expect(try await metrics.aggregate(.avg, of: Self.filter("cpu", attributes: ["core": "9"])) == nil)

            // Retention: points older than the cutoff in slices of 2, then series not seen since.
            var deleted: [Int] = []
            while deleted.count < 20 {
                let count = try await metrics.deleteMetrics(beforeUnixNano: Self.end - 25 * Self.second, limit: 2)
                deleted.append(count)
                if count == 0 { break }
            }
            #expect(deleted.allSatisfy { $0 <= 2 })
            #expect(deleted.reduce(0, +) == 5, "cpu at 40 and 30, orders at 50 and 7200, latency at 50 s before the end")
            #expect(try await metrics.series(Self.filter("orders", seconds: 10_000), stepNanoseconds: 3600 * Self.second, limit: 10)
                .map(\.points).reduce(0, +) == 1)
            _ = try await metrics.deleteMetrics(beforeUnixNano: Self.end + Self.second, limit: 100)
            while try await metrics.deleteMetrics(beforeUnixNano: Self.end + Self.second, limit: 100) > 0 {}
            #expect(try await metrics.metricNames(sinceUnixNano: 0, limit: 100).isEmpty)
        }
    }

    @Test("a cumulative series that started inside the window counts from zero", arguments: StoreKind.available)
    func seriesStartedInTheWindow(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            // As an SDK exports a new counter and histogram twice (a flush, then shut-down) with
            // nothing recorded in between: 6 orders and 3 observations ≤ 5, all since 45 s ago.
            var batch = WriteBatch()
            batch.metricSeries = [
                Self.series("d000000000000001", "new.orders", type: "sum", temporality: "cumulative"),
                Self.series("d000000000000002", "new.latency", type: "histogram", temporality: "cumulative", unit: "s"),
            ]
            let start = Self.end - 45 * Self.second
            for offset: Int64 in [40, 10] {
                let time = Self.end - offset * Self.second
                batch.metricPoints.append(MetricPointRow(seriesID: "d000000000000001", timeUnixNano: time, startTimeUnixNano: start, value: 6))
                batch.metricPoints.append(MetricPointRow(seriesID: "d000000000000002", timeUnixNano: time, startTimeUnixNano: start,
                                                         count: 3, sum: 3.9, buckets: #"{"bounds":[0,5,10],"counts":[0,3,0,0]}"#))
            }
            try await store.write(batch)
            let metrics = store.queries.metrics
            #expect(try await metrics.aggregate(.rate, of: Self.filter("new.orders")).map { abs($0 - 0.1) < 1e-9 } == true, "6 over 60 s")
            #expect(try await metrics.aggregate(.p95, of: Self.filter("new.latency")).map { abs($0 - 4.75) < 1e-9 } == true)
            // Over a window that began after the series started: only the growth inside it (none).
            #expect(try await metrics.aggregate(.rate, of: Self.filter("new.orders", seconds: 30)) == 0)
        }
    }

    @Test("memory_percent averages the host readings of the window", arguments: StoreKind.available)
    func memoryPercent(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, _ in
            var batch = WriteBatch()
            batch.systemMetrics = [
                SystemMetricRow(timestampUnixNano: Self.end - 60 * Self.second, metricType: "memory", metricName: "memory_percent",
                                value: 80, unit: "percent", tags: #"{"service.name":"shop"}"#),
                SystemMetricRow(timestampUnixNano: Self.end - 30 * Self.second, metricType: "memory", metricName: "memory_percent",
                                value: 90, unit: "percent", tags: #"{"service.name":"db"}"#),
                SystemMetricRow(timestampUnixNano: Self.end - 30 * Self.second, metricType: "cpu", metricName: "cpu_percent",
                                value: 5, unit: "percent", tags: "{}"),
                SystemMetricRow(timestampUnixNano: Self.end - 3600 * Self.second, metricType: "memory", metricName: "memory_percent",
                                value: 10, unit: "percent", tags: "{}"),
            ]
            try await store.write(batch)
            let window = AlertMetricWindow(sinceUnixNano: Self.end - 300 * Self.second, untilUnixNano: Self.end)
            #expect(try await store.queries.alertMetrics.value(of: .memoryPercent, over: window) == 85)
            var shop = window
            shop.serviceName = "shop"
            #expect(try await store.queries.alertMetrics.value(of: .memoryPercent, over: shop) == 80)
        }
    }
}
