import AsyncHTTPClient
import Foundation
import NIOCore
import SightlineServer
import StoreTestSupport
import Testing

/// Overload is answered at the door: with every decode slot taken, one more export request is
/// refused (503, `Retry-After`) before its body is read, and the requests holding the slots
/// still commit.
@Suite struct BackpressureTests {
    @Test func aRequestBeyondTheDecodeLimitIsRefusedAtOnce() async throws {
        try await TestServer.with(flags: [.maxConcurrentDecodes: "2"]) { server in
            let trace = { (n: Int) in String(format: "%032x", 0xB0_0000 + n) }
            // Two requests whose bodies arrive only in part: each holds a decode slot.
            var held: [(body: [UInt8], rest: AsyncStream<ByteBuffer>.Continuation, answer: Task<Int, any Error>)] = []
            for n in 1...2 {
                let body = tracesJSON([(trace(n), "a000000000000001", nil, "held", 1_700_000_000_000_000_000, 1_700_000_000_100_000_000)])
                let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
                continuation.yield(ByteBuffer(bytes: body.prefix(10)))
                var request = HTTPClientRequest(url: server.otlp + "/v1/traces")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .stream(stream, length: .known(Int64(body.count)))
                let answer = Task {
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    return Int(response.status.code)
                }
                held.append((body, continuation, answer))
            }

            // Once both slots are taken (the held requests reach the handler in their own time),
            // a complete request is refused; before that it may be accepted. A probe decoding
            // at the moment a held request arrives would take its slot and have it refused,
            // so the held requests get a head start.
            try await Task.sleep(for: .milliseconds(300))
            var refused: Answer?
            var n = 0
            _ = try await eventually(20) {
                let answer = try await server.post("/v1/traces", tracesJSON([(trace(100 + n), "a000000000000002", nil, "probe",
                                                                              1_700_000_000_000_000_000, 1_700_000_000_100_000_000)]))
                n += 1
                if answer.status == 503 { refused = answer; return true }
                #expect(answer.status == 200)
                return false
            }
            let answer = try #require(refused, "no request was refused while two decode slots were held")
            #expect(answer.headers.first(name: "Retry-After") == "1")
            #expect(answer.body.contains("retry"))

            // The held requests finish and commit.
            for request in held {
                request.rest.yield(ByteBuffer(bytes: request.body.dropFirst(10)))
                request.rest.finish()
            }
            for request in held { #expect(try await request.answer.value == 200) }
            let stored = try await server.rows("SELECT count(*) AS n FROM enterprise.trace_spans WHERE operation_name = 'held'")
            #expect(stored.first?.int("n") == 2)

            // Slots are given back: the next request is accepted.
            let after = try await server.post("/v1/traces", tracesJSON([(trace(999), "a000000000000003", nil, "after",
                                                                         1_700_000_000_000_000_000, 1_700_000_000_100_000_000)]))
            #expect(after.status == 200)
        }
    }

    /// A request let in holds its place in the queue while its body is read and decoded:
    /// with room for one submission, a second request is refused at the door instead of
    /// being decoded and then refused (or let past the bound).
    @Test func aRequestBeingDecodedHoldsItsPlaceInTheQueue() async throws {
        try await TestServer.with(flags: [.queueCapacity: "1"]) { server in
            let trace = { (n: Int) in String(format: "%032x", 0xC0_0000 + n) }
            let body = tracesJSON([(trace(1), "a000000000000001", nil, "reserved", 1_700_000_000_000_000_000, 1_700_000_000_100_000_000)])
            let (stream, rest) = AsyncStream.makeStream(of: ByteBuffer.self)
            rest.yield(ByteBuffer(bytes: body.prefix(10)))
            var request = HTTPClientRequest(url: server.otlp + "/v1/traces")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .stream(stream, length: .known(Int64(body.count)))
            let held = Task {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                return Int(response.status.code)
            }

            // A head start, as above: a probe in the queue when the held request arrives
            // would take the one place.
            try await Task.sleep(for: .milliseconds(300))
            var refused: Answer?
            var n = 0
            _ = try await eventually(20) {
                let answer = try await server.post("/v1/traces", tracesJSON([(trace(100 + n), "a000000000000002", nil, "probe",
                                                                              1_700_000_000_000_000_000, 1_700_000_000_100_000_000)]))
                n += 1
                if answer.status == 503 { refused = answer; return true }
                #expect(answer.status == 200)
                return false
            }
            let answer = try #require(refused, "no request was refused while one was being decoded with room for one")
            #expect(answer.headers.first(name: "Retry-After") == "1")

            rest.yield(ByteBuffer(bytes: body.dropFirst(10)))
            rest.finish()
            #expect(try await held.value == 200)
            let stored = try await server.rows("SELECT count(*) AS n FROM enterprise.trace_spans WHERE operation_name = 'reserved'")
            #expect(stored.first?.int("n") == 1)
            let after = try await server.post("/v1/traces", tracesJSON([(trace(999), "a000000000000003", nil, "after",
                                                                         1_700_000_000_000_000_000, 1_700_000_000_100_000_000)]))
            #expect(after.status == 200)
        }
    }
}
