import AsyncHTTPClient
import CompressNIO
import Foundation
import NIOCore
import SightlineServer
import StoreTestSupport
import Testing

/// Every refusal of the receiver: status, `google.rpc.Status` body, and nothing stored.
@Suite struct ErrorStatusTests {
    func expectStatus(_ answer: Answer, _ status: Int, code: Int, messageContains text: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == status, sourceLocation: sourceLocation)
        #expect(answer.headers.first(name: "Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(answer.json?["code"] as? Int == code, sourceLocation: sourceLocation)
        let message = answer.json?["message"] as? String ?? ""
        #expect(message.contains(text), "message was: \(message)", sourceLocation: sourceLocation)
    }

    @Test func wrongMethodsPathsAndContentTypes() async throws {
        try await TestServer.with { server in
            let get = try await server.get(server.otlp + "/v1/traces")
            expectStatus(get, 405, code: 12, messageContains: "POST")
            #expect(get.headers.first(name: "Allow") == "POST")
            let put = try await server.request(server.otlp + "/v1/logs", method: .PUT, body: Array("{}".utf8),
                                               contentType: "application/json", headers: [])
            #expect(put.status == 405)
            #expect(try await server.post("/v1/nothing", Array("{}".utf8)).status == 404)

            let text = try await server.post("/v1/traces", Array("{}".utf8), contentType: "text/plain")
            expectStatus(text, 415, code: 3, messageContains: "send OTLP/HTTP JSON (application/json) or protobuf (application/x-protobuf)")
            let grpc = try await server.post("/v1/traces", [0x0a, 0x00], contentType: "application/grpc")
            expectStatus(grpc, 415, code: 3, messageContains: #"unsupported Content-Type "application/grpc""#)
            let none = try await server.post("/v1/traces", Array("{}".utf8), contentType: nil)
            #expect(none.status == 415)
            // Parameters on the media type are fine.
            let charset = try await server.post("/v1/traces", Array("{}".utf8), contentType: "application/json; charset=utf-8")
            #expect(charset.status == 200)
        }
    }

    @Test func malformedBodiesGet400WithTheirPath() async throws {
        try await TestServer.with { server in
            expectStatus(try await server.post("/v1/traces", Array("{not json".utf8)), 400, code: 3,
                         messageContains: "body is not valid JSON")
            expectStatus(try await server.post("/v1/traces", Array("[1,2]".utf8)), 400, code: 3,
                         messageContains: "expected an object")
            expectStatus(try await server.post("/v1/traces", Array(#"{"resourceSpans":{"a":1}}"#.utf8)), 400, code: 3,
                         messageContains: "resourceSpans: expected an array")
            expectStatus(try await server.post("/v1/logs", Array(#"{"resourceLogs":[{"resource":{"attributes":"x"}}]}"#.utf8)),
                         400, code: 3, messageContains: "resourceLogs[0].resource.attributes: expected an array")
            // Every item invalid: nothing to accept, so the request is refused.
            let allBad = Array(#"{"resourceSpans":[{"scopeSpans":[{},{"spans":[{},{"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"ABC"}]}]}]}"#.utf8)
            expectStatus(try await server.post("/v1/traces", allBad), 400, code: 3,
                         messageContains: "resourceSpans[0].scopeSpans[1].spans[0].traceId: is required (and 1 more rejected)")
            // A deeply nested document is refused, not a crash.
            let nested = Array(String(repeating: "[", count: 100_000).utf8)
            #expect(try await server.post("/v1/traces", nested).status == 400)
            let deepValue = Array(("""
                {"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":
                """ + String(repeating: #"{"arrayValue":{"values":["#, count: 40) + #"{"intValue":1}"#
                + String(repeating: "]}}", count: 40) + "}]}]}]}").utf8)
            expectStatus(try await server.post("/v1/logs", deepValue), 400, code: 3, messageContains: "nest deeper than 32 levels")
            #expect(try await server.count("trace_spans") == 0)
            #expect(try await server.count("structured_logs") == 0)
            // The server is still fine.
            #expect(try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json")).status == 200)
        }
    }

    @Test func bodiesOverTheLimitsGet413() async throws {
        try await TestServer.with(flags: [.maxBodyBytes: "6000", .maxInflatedBytes: "1MiB"]) { server in
            let big = try fixture("python-sdk/python-json-traces.json")
            #expect(big.count > 6000)
            expectStatus(try await server.post("/v1/traces", big), 413, code: 8, messageContains: "exceeds the limit of 6000 bytes")

            // Without Content-Length (chunked), the limit holds while reading.
            var request = HTTPClientRequest(url: server.otlp + "/v1/traces")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let chunks = stride(from: 0, to: big.count, by: 1000).map { ByteBuffer(bytes: big[$0..<min($0 + 1000, big.count)]) }
            request.body = .stream(chunks.async, length: .unknown)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 413)

            // A gzip bomb: 4 MiB of zeros in about 4 KiB, stopped at the 1 MiB inflated limit.
            var zeros = ByteBuffer(repeating: UInt8(ascii: "0"), count: 4 << 20)
            let bomb = try zeros.compress(with: .gzip())
            #expect(bomb.readableBytes < 6000)
            let answer = try await server.post("/v1/traces", Array(buffer: bomb), headers: [("Content-Encoding", "gzip")])
            expectStatus(answer, 413, code: 8, messageContains: "inflated body exceeds the limit of 1048576 bytes")
            #expect(try await server.count("trace_spans") == 0)
        }
    }

    @Test func badEncodingsGet400() async throws {
        try await TestServer.with { server in
            let body = Array("{}".utf8)
            expectStatus(try await server.post("/v1/traces", body, headers: [("Content-Encoding", "br")]), 400, code: 3,
                         messageContains: "unsupported Content-Encoding \"br\"")
            expectStatus(try await server.post("/v1/traces", Array("definitely not gzip".utf8), headers: [("Content-Encoding", "gzip")]),
                         400, code: 3, messageContains: "not valid gzip")
            expectStatus(try await server.post("/v1/traces", Array("definitely not zlib".utf8), headers: [("Content-Encoding", "deflate")]),
                         400, code: 3, messageContains: "not valid deflate")
        }
    }

    @Test func ingestTokensAreRequiredWhenConfigured() async throws {
        try await TestServer.with(environment: ["SIGHTLINE_INGEST_TOKENS": "s3cret, other-token"]) { server in
            let body = try fixture("python-sdk/python-json-logs.json")
            let missing = try await server.post("/v1/logs", body)
            expectStatus(missing, 401, code: 16, messageContains: "ingest token")
            #expect(!missing.body.contains("s3cret"))
            #expect(try await server.post("/v1/logs", body, headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await server.post("/v1/logs", body, headers: [("Authorization", "Basic s3cret")]).status == 401)
            #expect(try await server.count("structured_logs") == 0)
            #expect(try await server.post("/v1/logs", body, headers: [("Authorization", "Bearer other-token")]).status == 200)
            #expect(try await server.count("structured_logs") == 8)
        }
    }
}
