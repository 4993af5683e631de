import CompressNIO
import Foundation
import NIOCore
import OTLP
import SightlineServer
import StoreTestSupport
import Synchronization
import Testing

/// OTLP/HTTP protobuf (`application/x-protobuf`, what SDKs send by default): same endpoints,
/// mapping, limits and statuses as JSON, answered in protobuf.
@Suite struct ProtobufReceiverTests {
    static let protobuf = "application/x-protobuf"

    func postProtobuf(_ server: TestServer, _ path: String, _ body: [UInt8], headers: [(String, String)] = []) async throws -> Answer {
        try await server.post(path, body, contentType: Self.protobuf, headers: headers)
    }

    /// The `google.rpc.Status` of a failure answered in protobuf.
    func expectStatus(_ answer: Answer, _ status: Int, code: Int32, messageContains text: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(answer.status == status, sourceLocation: sourceLocation)
        #expect(answer.headers.first(name: "Content-Type") == Self.protobuf, sourceLocation: sourceLocation)
        let decoded = try OTLPProtobufResponse.status(from: Data(answer.bytes))
        #expect(decoded.code == code, sourceLocation: sourceLocation)
        #expect(decoded.message.contains(text), "message was: \(decoded.message)", sourceLocation: sourceLocation)
    }

    @Test(arguments: StoreKind.available)
    func pythonSDKProtobufCapturesAreStored(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let traces = try await postProtobuf(server, "/v1/traces", try fixture("python-sdk/python-proto-traces.bin"))
            #expect(traces.status == 200)
            #expect(traces.headers.first(name: "Content-Type") == Self.protobuf)
            #expect(traces.bytes.isEmpty, "an ExportTraceServiceResponse without partialSuccess has no bytes")
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("traces") == 2)

            let chat = try #require(try await server.rows(
                "SELECT * FROM enterprise.traces WHERE root_span_name = 'GET /api/chat'").first)
            #expect(chat.string("status") == "error")
            #expect(chat.string("error_message") == "CRM lookup failed")
            #expect(chat.string("user_email") == "alice@example.com")
            #expect(chat.string("service_name") == "chat-api")
            let tool = try #require(try await server.rows(
                "SELECT * FROM enterprise.trace_spans WHERE operation_name = 'tool_call'").first)
            #expect(tool.int("status_code") == 2)
            #expect(tool.string("trace_id") == chat.string("trace_id"))

            let logs = try await postProtobuf(server, "/v1/logs", try fixture("python-sdk/python-proto-logs.bin"))
            #expect(logs.status == 200)
            #expect(logs.headers.first(name: "Content-Type") == Self.protobuf)
            #expect(try await server.count("structured_logs") == 8)
            let failed = try #require(try await server.rows(
                "SELECT * FROM enterprise.structured_logs WHERE message = 'tool call failed'").first)
            #expect(failed.string("level") == "ERROR")
            #expect(failed.string("exception_type") == "ToolError")
            #expect(failed.string("trace_id") == chat.string("trace_id"))
        }
    }

    @Test(arguments: StoreKind.available)
    func gzipProtobufIsInflated(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let traces = try await postProtobuf(server, "/v1/traces", try fixture("python-sdk/python-proto-traces.bin.gz"),
                                                headers: [("Content-Encoding", "gzip")])
            #expect(traces.status == 200)
            let logs = try await postProtobuf(server, "/v1/logs", try fixture("python-sdk/python-proto-logs.bin.gz"),
                                              headers: [("Content-Encoding", "gzip")])
            #expect(logs.status == 200)
            var deflated = ByteBuffer(bytes: try fixture("python-sdk/python-proto-logs.bin"))
            let zlib = try deflated.compress(with: .zlib())
            let deflate = try await postProtobuf(server, "/v1/logs", Array(buffer: zlib), headers: [("Content-Encoding", "deflate")])
            #expect(deflate.status == 200)
            #expect(try await server.count("trace_spans") == 9)
            #expect(try await server.count("structured_logs") == 16)
        }
    }

    /// Every column of `table` except those the database fills itself, as comparable text.
    func contents(_ server: TestServer, _ table: String, orderBy: String) async throws -> [[String: String]] {
        let generated: Set<String> = ["id", "created_at", "updated_at", "ingested_at"]
        return try await server.rows("SELECT * FROM enterprise.\(table) ORDER BY \(orderBy)").map { row in
            var text: [String: String] = [:]
            for (column, value) in row.values where !generated.contains(column) {
                if value is [Any] || value is [String: Any] {
                    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
                    text[column] = String(decoding: data, as: UTF8.self)
                } else {
                    text[column] = "\(value)"
                }
            }
            return text
        }
    }

    @Test(arguments: StoreKind.available)
    func theSameDataInEitherEncodingStoresTheSameRows(_ kind: StoreKind) async throws {
        // The JSON capture, and the same request encoded as protobuf, into two fresh stores.
        let tracesJSON = try fixture("python-sdk/python-json-traces.json")
        let logsJSON = try fixture("python-sdk/python-json-logs.json")
        let tracesProto = OTLPProtobufEncoder.encode(try OTLPJSONDecoder().decodeTraces(from: Data(tracesJSON)).request)
        let logsProto = OTLPProtobufEncoder.encode(try OTLPJSONDecoder().decodeLogs(from: Data(logsJSON)).request)

        let collected = Mutex<[[[String: String]]]>([])
        for (traces, logs, contentType) in [(tracesJSON, logsJSON, "application/json"),
                                            (Array(tracesProto), Array(logsProto), Self.protobuf)] {
            try await TestServer.with(kind) { server in
                #expect(try await server.post("/v1/traces", traces, contentType: contentType).status == 200)
                #expect(try await server.post("/v1/logs", logs, contentType: contentType).status == 200)
                let tables = [try await contents(server, "trace_spans", orderBy: "span_id"),
                              try await contents(server, "traces", orderBy: "trace_id"),
                              try await contents(server, "structured_logs", orderBy: "time_unix_nano, message")]
                collected.withLock { $0 += tables }
            }
        }
        let stored = collected.withLock { $0 }
        try #require(stored.count == 6)
        #expect(stored[0].count == 9 && stored[1].count == 2 && stored[2].count == 8)
        for table in 0..<3 {
            let json = stored[table], proto = stored[table + 3]
            #expect(json.count == proto.count)
            for (jsonRow, protoRow) in zip(json, proto) {
                for column in Set(jsonRow.keys).union(protoRow.keys) {
                    #expect(jsonRow[column] == protoRow[column], "\(column)")
                }
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func invalidSpansGetPartialSuccessInProtobuf(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let request = try OTLPJSONDecoder().decodeTraces(from: Data(try fixture("python-sdk/python-json-traces.json"))).request
            let good = Array(request.resourceSpans[0].scopeSpans[0].spans.prefix(2))
            // Two valid spans, then one whose trace id has 3 bytes.
            let bytes = Array(Self.tracesWithRawSpan(valid: good, raw: [0x0A, 0x03, 1, 2, 3, 0x12, 0x08] + Array(repeating: 7, count: 8)))
            let answer = try await postProtobuf(server, "/v1/traces", bytes)
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "Content-Type") == Self.protobuf)
            let partial = try #require(try OTLPProtobufResponse.partialSuccess(from: Data(answer.bytes)))
            #expect(partial.rejected == 1)
            #expect(partial.errorMessage == "resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 16 bytes, got 3")
            #expect(try await server.count("trace_spans") == 2)
        }
    }

    /// A traces request holding `valid` spans and then one span given as raw bytes.
    static func tracesWithRawSpan(valid: [Span], raw: [UInt8]) -> Data {
        let request = ExportTraceServiceRequest(resourceSpans: [ResourceSpans(scopeSpans: [ScopeSpans(spans: valid)])])
        // request { 1: ResourceSpans { 2: ScopeSpans { 2: span, ... } } }: add the raw span to the ScopeSpans.
        let scopeSpans = field(2, of: field(1, of: Array(OTLPProtobufEncoder.encode(request))))
        let scope = scopeSpans + [0x12] + varint(raw.count) + raw
        let resource = [UInt8(0x12)] + varint(scope.count) + scope
        return Data([0x0A] + varint(resource.count) + resource)
    }

    /// The body of the first length-delimited field `number` in `message`.
    static func field(_ number: UInt8, of message: [UInt8]) -> [UInt8] {
        var position = 0
        while position < message.count {
            let tag = message[position]; position += 1
            var length = 0, shift = 0
            while true {
                let byte = message[position]; position += 1
                length |= Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            if tag == number << 3 | 2 { return Array(message[position..<position + length]) }
            position += length
        }
        return []
    }

    static func varint(_ value: Int) -> [UInt8] {
        var value = value, out: [UInt8] = []
        while value >= 0x80 { out.append(UInt8(value & 0x7F) | 0x80); value >>= 7 }
        return out + [UInt8(value)]
    }

    @Test func failuresAnswerInProtobuf() async throws {
        try await TestServer.with(flags: [.maxBodyBytes: "3000", .ingestTokens: "secret-token"]) { server in
            let auth = [("Authorization", "Bearer secret-token")]
            try expectStatus(try await postProtobuf(server, "/v1/traces", [0x0A, 0x05, 0x01]), 401, code: 16,
                             messageContains: "ingest token")
            try expectStatus(try await postProtobuf(server, "/v1/traces", [0x0A, 0x05, 0x01], headers: auth), 400, code: 3,
                             messageContains: "body is not a valid OTLP protobuf message: a field runs past the end of the body")
            try expectStatus(try await postProtobuf(server, "/v1/logs", [0x08, 0x01], headers: auth), 400, code: 3,
                             messageContains: "field 1 has the wrong wire type (varint)")
            // Every span invalid: nothing to accept.
            try expectStatus(try await postProtobuf(server, "/v1/traces", Array(Self.tracesWithRawSpan(valid: [], raw: [0x0A, 0x01, 0x01])),
                                                    headers: auth),
                             400, code: 3, messageContains: "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 16 bytes, got 1")
            let big = try fixture("python-sdk/python-proto-traces.bin")
            #expect(big.count > 3000)
            try expectStatus(try await postProtobuf(server, "/v1/traces", big, headers: auth), 413, code: 8, messageContains: "3000 bytes")
            try expectStatus(try await postProtobuf(server, "/v1/traces", [0x0A, 0x00], headers: auth + [("Content-Encoding", "br")]), 400, code: 3,
                             messageContains: "unsupported Content-Encoding")
            let get = try await server.request(server.otlp + "/v1/traces", method: .GET, body: nil, contentType: Self.protobuf, headers: auth)
            try expectStatus(get, 405, code: 12, messageContains: "POST")
            // The registered media type works too.
            let small = Array(OTLPProtobufEncoder.encode(ExportTraceServiceRequest()))
            #expect(try await server.post("/v1/traces", small, contentType: "application/protobuf", headers: auth).status == 200)
            #expect(try await server.count("trace_spans") == 0)
        }
    }
}
