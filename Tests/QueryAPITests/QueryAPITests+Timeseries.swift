import Foundation
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

/// `GET /traces/stats/timeseries` over the dataset of `QueryAPITests`, on both stores.
extension QueryAPITests {
    static let minuteNano: UInt64 = 60_000_000_000

    static func requests(_ points: [[String: Any]]) -> Int {
        points.map { point in point["requests"] as? Int ?? 0 }.reduce(0, +)
    }

    @Test(arguments: StoreKind.available)
    func timeseriesCountsEachMinute(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let series = try object(try await get(server, "/traces/stats/timeseries?hours=2&step=60&service=shop"))
            #expect(series["period_hours"] as? Int == 2)
            #expect(series["step_seconds"] as? Int == 60)
            #expect(series["service"] as? String == "shop")
            let points = list(series, "points")
            #expect(points.count == 120)
            // The last step holds now; each step starts a minute after the one before.
            let times = points.compactMap { $0["time"] as? String }
            #expect(times.count == 120)
            let dates = times.compactMap { ISO8601DateFormatter().date(from: $0.prefix(19) + "Z") }
            #expect(dates.count == 120)
            let nowSeconds = Double(data.now) / 1e9
            let last = try #require(dates.last).timeIntervalSince1970
            #expect(last <= nowSeconds && nowSeconds < last + 60)
            let gaps = Set(zip(dates, dates.dropFirst()).map { pair in pair.1.timeIntervalSince(pair.0) })
            #expect(gaps == [60])

            // One shop trace a minute from an hour ago: each in its minute, with its duration.
            let seconds = dates.map { Int64($0.timeIntervalSince1970) }
            for index in data.durations.indices {
                let minute = Int64(data.start(index) / Self.minuteNano) * 60
                let position = try #require(seconds.firstIndex(of: minute))
                let point = points[position]
                #expect(point["requests"] as? Int == 1)
                #expect(point["p50_ms"] as? Double == Double(data.durations[index]))
                #expect(point["p99_ms"] as? Double == Double(data.durations[index]))
                let failed = index == data.durations.count - 1
                #expect(point["errors"] as? Int == (failed ? 1 : 0))
                #expect(point["error_rate"] as? Double == (failed ? 100 : 0))
            }
            #expect(Self.requests(points) == 6)
            let emptyWithPercentile = points.filter { point in (point["requests"] as? Int ?? 0) == 0 && !(point["p50_ms"] is NSNull) }
            #expect(emptyWithPercentile.isEmpty)

            // The shop's records by level, over the same steps.
            let logs = list(series, "logs")
            #expect(logs.count == 120)
            var levels: [String: Int] = [:]
            for step in logs {
                for (level, count) in step["levels"] as? [String: Int] ?? [:] { levels[level, default: 0] += count }
            }
            #expect(levels["INFO"] == 3 && levels["ERROR"] == 2 && levels.values.reduce(0, +) == 6)
            let total = logs.map { step in step["total"] as? Int ?? 0 }.reduce(0, +)
            #expect(total == 6)

            // The trace list's filters apply; the default step cuts the window into 120.
            let failed = try object(try await get(server, "/traces/stats/timeseries?hours=2&step=60&service=shop&status=error"))
            #expect(Self.requests(list(failed, "points")) == 1)
            let day = try object(try await get(server, "/traces/stats/timeseries?service=shop"))
            #expect(day["step_seconds"] as? Int == 720)
            #expect(list(day, "points").count == 120)
            #expect(Self.requests(list(day, "points")) == 6)

            // A range (Unix milliseconds, end exclusive): the list has traces 1 and 2.
            let from = data.start(1) / 1_000_000
            let to = data.start(3) / 1_000_000
            let range = try object(try await get(server, "/traces/stats/timeseries?step=60&service=shop&from=\(from)&to=\(to)"))
            let rangePoints = list(range, "points")
            #expect(rangePoints.count == Int((data.start(3) - 1) / Self.minuteNano - data.start(1) / Self.minuteNano + 1))
            // Whole steps: the last one is the minute holding `to`, with trace 3 (a range dragged
            // on a chart is whole steps, so the chart and the list agree there).
            #expect(Self.requests(rangePoints) == 3)
            let listed = try object(try await get(server, "/traces?service=shop&from=\(from)&to=\(to)"))
            let listedIDs = Set(list(listed, "traces").compactMap { trace in trace["trace_id"] as? String })
            #expect(listedIDs == Set([data.traceID(1).hex, data.traceID(2).hex]))
        }
    }

    static let badTimeseriesParameters: [(String, String)] = [
        ("/traces/stats/timeseries?step=90", "step"), ("/traces/stats/timeseries?step=30", "step"),
        ("/traces/stats/timeseries?step=1m", "step"), ("/traces/stats/timeseries?hours=168&step=60", "step"),
        ("/traces/stats/timeseries?hours=0", "hours"), ("/traces/stats/timeseries?status=late", "status"),
        ("/traces/stats/timeseries?min_duration_ms=-1", "min_duration_ms"),
        ("/traces/stats/timeseries?from=1700000000000", "to"), ("/traces/stats/timeseries?to=1700000000000", "from"),
        ("/traces/stats/timeseries?from=yesterday&to=1700000000000", "from"),
        ("/traces/stats/timeseries?from=1700000000000&to=1700000000000", "to"),
        ("/traces/stats/timeseries?from=1700000000000&to=1800000000000", "to"),
        ("/traces?from=1700000000000&to=1600000000000", "to"),
        ("/llm/usage?days=0", "days"), ("/llm/usage?days=91", "days"),
    ]

    @Test func badTimeseriesParametersAre400NamingTheParameter() async throws {
        try await TestServer.with { server in
            for (path, parameter) in Self.badTimeseriesParameters {
                let answer = try await get(server, path)
                #expect(answer.status == 400, "\(path)")
                let message = answer.json?["error"] as? String ?? ""
                #expect(message.hasPrefix(parameter + ":"), "\(path): \(message)")
            }
        }
    }
}
