import Foundation
import SightlineServer
import Store
import StoreTestSupport
import Synchronization
import Testing

/// Slow queries never starve ingest or the probes: with a short read time limit and enough
/// records (100,000) that a regular-expression LogQL query runs past it, six clients sending
/// such queries back to back get 422 each time (not a hang), while `/health` and small OTLP
/// ingest requests, over real HTTP, answer within their bounds; the query API's search past
/// the limit answers 422 too.
///
/// The bounds leave room for a busy two-core machine. Before reads had connections of their own,
/// SQLite's one reader connection and the writer shared four threads, so the queries held
/// `/health` (4.6 s) and commits for as long as they ran, and nothing stopped them (they
/// answered 200 or 400 after seconds); on PostgreSQL they shared one pool with the writer.
@Suite struct ReadIsolationTests {
    /// The time limit: long enough for the start-up reads on empty tables (milliseconds), far
    /// shorter than the slow queries below on 100,000 records: the LogQL regular expression takes
    /// about 2 s on SQLite (ICU, record by record) and 0.2 s on PostgreSQL, the deep search page
    /// about 0.5–1 s and 0.1 s.
    static func limit(_ kind: StoreKind) -> (setting: String, text: String) {
        kind == .sqlite ? ("0.15", "0.15 s") : ("0.03", "0.03 s")
    }

    static let slowLogQL = #"{service_name="shop"} |~ "(?i)timeout.*(refused|reset) by worker-[0-9]+x""#

    @Test(arguments: StoreKind.available)
    func slowQueriesAnswer422WhileHealthAndIngestAnswerInTime(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Self.seed(database, records: 100_000)
            let limit = Self.limit(kind)
            let expected = "query exceeded the \(limit.text) time limit; narrow the time range or the query"
            try await TestServer.with(kind, database: database, environment: ["SIGHTLINE_QUERY_TIMEOUT": limit.setting]) { server in
                let now = Int64(Date.now.timeIntervalSince1970)
                let loki = server.api + "/loki/api/v1/query_range?query="
                    + Self.slowLogQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "&start=\(now - 3600)&end=\(now + 60)&limit=100"
                let answers = Answers()
                let pressure = Duration.seconds(4)
                try await withDeadline(pressure + .seconds(90), "six LogQL clients with probes") {
                    let until = ContinuousClock.now + pressure
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for _ in 0..<6 {
                            group.addTask {
                                repeat {
                                    let started = ContinuousClock.now
                                    let answer = try await server.get(loki)
                                    answers.add("loki", answer, ContinuousClock.now - started)
                                } while ContinuousClock.now < until
                            }
                        }
                        group.addTask {
                            var round = 0
                            while ContinuousClock.now < until {
                                var started = ContinuousClock.now
                                answers.add("health", try await server.get(server.api + "/health"), ContinuousClock.now - started)
                                if round % 4 == 0 {
                                    started = ContinuousClock.now
                                    answers.add("ingest", try await server.post("/v1/logs", Self.smallExport(round)), ContinuousClock.now - started)
                                }
                                round += 1
                                // Paced, not ordering anything: a probe about every 100 ms.
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                let lokiAnswers = answers.of("loki")
                #expect(lokiAnswers.count >= 6)
                for answer in lokiAnswers {
                    #expect(answer.status == 422, "\(answer.status) after \(answer.took): \(answer.body.prefix(200))")
                    #expect(answer.json?["status"] as? String == "error" && answer.json?["code"] as? Int == 422)
                    #expect(answer.json?["message"] as? String == expected, "\(answer.body.prefix(200))")
                }
                let health = answers.of("health"), ingest = answers.of("ingest")
                #expect(health.count >= 5 && ingest.count >= 2, "\(health.count) probes, \(ingest.count) ingests")
                for answer in health {
                    #expect(answer.status == 200 && answer.took < .seconds(2), "/health \(answer.status) after \(answer.took)")
                }
                for answer in ingest {
                    #expect(answer.status == 200 && answer.took < .seconds(3), "ingest \(answer.status) after \(answer.took): \(answer.body.prefix(200))")
                }
                print("ReadIsolationTests \(kind): \(lokiAnswers.count) LogQL answers, slowest \(lokiAnswers.map(\.took).max() ?? .zero); "
                      + "/health slowest \(health.map(\.took).max() ?? .zero) of \(health.count); ingest slowest \(ingest.map(\.took).max() ?? .zero) of \(ingest.count)")

                // The query API: a search's deep page past the limit.
                let search = try await server.get(server.api + "/api/observability/logs?search=answered&offset=90000")
                #expect(search.status == 422, "\(search.body.prefix(200))")
                #expect(search.json?["error"] as? String == expected)
                // Ingest committed.
                #expect(try await server.count("structured_logs") == 100_000 + ingest.count)
            }
        }
    }

    /// Records of service `shop`, spread over the 50 minutes before now, written straight
    /// through the store in transactions of 5,000.
    static func seed(_ database: TestDatabase, records: Int) async throws {
        try await withTestStore(database.kind, database: database) { store, _ in
            let now = Int64(Date.now.timeIntervalSince1970 * 1e9)
            let spacing = Int64(50 * 60 * 1_000_000_000) / Int64(records)
            let resource = #"{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]}"#
            for first in stride(from: 0, to: records, by: 5_000) {
                var batch = WriteBatch()
                batch.logs = (first..<min(records, first + 5_000)).map { index in
                    let time = now - Int64(records - index) * spacing
                    let message = "GET /api/items/\(index) answered 200 in \(index % 997) ms by worker-\(index % 13) for session s\(index % 101)"
                    return LogRow(
                        timestampUnixNano: time, timeUnixNano: time, observedTimeUnixNano: time, level: "INFO", loggerName: "shop.http",
                        message: message, traceID: nil, spanID: nil, userEmail: nil, department: nil, sessionID: nil, endpoint: nil,
                        extra: "{}", exceptionType: nil, exceptionMessage: nil, exceptionTraceback: nil, severityNumber: 9,
                        severityText: "INFO", body: #"{"stringValue":"\#(message)"}"#, attributes: "[]", resource: resource,
                        scope: #"{"name":"shop.http"}"#, flags: 0, eventName: nil, droppedAttributesCount: 0, serviceName: "shop")
                }
                try await store.write(batch)
            }
        }
    }

    /// One log record in OTLP/JSON.
    static func smallExport(_ round: Int) -> [UInt8] {
        let nanos = UInt64(Date.now.timeIntervalSince1970 * 1e9)
        return Array("""
            {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"probe"}}]},
             "scopeLogs":[{"scope":{"name":"probe"},"logRecords":[{"timeUnixNano":"\(nanos)","severityNumber":9,
             "body":{"stringValue":"ingest probe \(round)"}}]}]}]}
            """.utf8)
    }
}

/// HTTP answers by kind, with how long each took.
final class Answers: Sendable {
    struct Timed {
        var status: Int
        var body: String
        var json: [String: Any]?
        var took: Duration
    }

    private let answers = Mutex<[(String, Answer, Duration)]>([])

    func add(_ kind: String, _ answer: Answer, _ took: Duration) {
        answers.withLock { $0.append((kind, answer, took)) }
    }

    func of(_ kind: String) -> [Timed] {
        answers.withLock { $0.filter { $0.0 == kind }.map { Timed(status: $0.1.status, body: $0.1.body, json: $0.1.json, took: $0.2) } }
    }
}
