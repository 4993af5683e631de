import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCReceiver
import Ingest
import NIOCore
import OTLP
import SightlineServer
import StoreTestSupport
import Synchronization
import Testing

/// OTLP/gRPC (`TraceService/Export`, `LogsService/Export`) through a real grpc-swift client
/// over loopback: the same rows as OTLP/HTTP protobuf, and the statuses the OTLP specification
/// names for bad input, overload and missing tokens. One test at a time: each starts a server
/// (both stores for some), and the whole suite starts many at once.
@Suite(.serialized) struct GRPCReceiverTests {
    static let traceService = "opentelemetry.proto.collector.trace.v1.TraceService"
    static let logsService = "opentelemetry.proto.collector.logs.v1.LogsService"

    /// One unary call with `message` as the request's bytes; the response's bytes or its error.
    static func export(port: Int, service: String, method: String = "Export", _ message: [UInt8],
                       metadata: Metadata = [:], compression: CompressionAlgorithm? = nil) async throws -> Result<[UInt8], RPCError> {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
            config: .defaults { $0.compression.enabledAlgorithms = [.gzip] })
        return try await withGRPCClient(transport: transport) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(30)
            options.compression = compression
            return try await client.unary(
                request: ClientRequest(message: message, metadata: metadata),
                descriptor: MethodDescriptor(fullyQualifiedService: service, method: method),
                serializer: Bytes(), deserializer: Bytes(), options: options
            ) { response in
                switch response.accepted {
                case .success(let contents): contents.message
                case .failure(let error): .failure(error)
                }
            }
        }
    }

    struct Bytes: MessageSerializer, MessageDeserializer {
        func serialize<Output: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Output { Output(message) }
        func deserialize<Input: GRPCContiguousBytes>(_ bytes: Input) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
    }

    func error(_ result: Result<[UInt8], RPCError>, sourceLocation: SourceLocation = #_sourceLocation) -> RPCError? {
        guard case .failure(let error) = result else {
            Issue.record("the call succeeded", sourceLocation: sourceLocation)
            return nil
        }
        return error
    }

    /// The `RetryInfo` delay among the details of the `google.rpc.Status` in
    /// `grpc-status-details-bin` (what the Collector and the Go and Java SDKs read), read by hand.
    func retryDelay(_ error: RPCError) throws -> Duration? {
        guard let status = error.metadata[binaryValues: "grpc-status-details-bin"].first(where: { _ in true }) else { return nil }
        let fields = try Self.fields(of: Array(status))
        #expect(fields.first { $0.number == 1 }?.varint == UInt64(error.code.rawValue), "the status's code")
        #expect(fields.first { $0.number == 2 }.map { String(decoding: $0.bytes, as: UTF8.self) } == error.message)
        for detail in fields where detail.number == 3 {
            let any = try Self.fields(of: detail.bytes)
            guard any.first(where: { $0.number == 1 }).map({ String(decoding: $0.bytes, as: UTF8.self) })
                    == "type.googleapis.com/google.rpc.RetryInfo",
                  let retryInfo = any.first(where: { $0.number == 2 }) else { continue }
            let duration = try Self.fields(of: try Self.fields(of: retryInfo.bytes).first { $0.number == 1 }?.bytes ?? [])
            return .seconds(Int64(duration.first { $0.number == 1 }?.varint ?? 0))
        }
        return nil
    }

    struct DecodingFailed: Error {}

    /// The fields of a protobuf message: varints and length-delimited ones (all these messages hold).
    static func fields(of bytes: [UInt8]) throws -> [(number: Int, varint: UInt64, bytes: [UInt8])] {
        var position = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard position < bytes.count, shift < 64 else { throw DecodingFailed() }
                let byte = bytes[position]; position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        var fields: [(number: Int, varint: UInt64, bytes: [UInt8])] = []
        while position < bytes.count {
            let tag = try varint()
            switch tag & 7 {
            case 0: fields.append((Int(tag >> 3), try varint(), []))
            case 2:
                let length = Int(try varint())
                guard position + length <= bytes.count else { throw DecodingFailed() }
                fields.append((Int(tag >> 3), 0, Array(bytes[position..<position + length])))
                position += length
            default: throw DecodingFailed()
            }
        }
        return fields
    }

    @Test(arguments: StoreKind.available)
    func tracesAndLogsExportedOverGRPCStoreTheRowsOfHTTPProtobuf(_ kind: StoreKind) async throws {
        let traces = try fixture("python-sdk/python-proto-traces.bin")
        let logs = try fixture("python-sdk/python-proto-logs.bin")
        let tables = [("trace_spans", "span_id"), ("traces", "trace_id"), ("structured_logs", "time_unix_nano, message")]
        let collected = Mutex<[[[String: String]]]>([])
        for overGRPC in [false, true] {
            try await TestServer.with(kind, grpc: true) { server in
                if overGRPC {
                    let port = try #require(server.grpcPort)
                    let spans = try await Self.export(port: port, service: Self.traceService, traces)
                    #expect(try spans.get().isEmpty, "an ExportTraceServiceResponse without partialSuccess has no bytes")
                    let records = try await Self.export(port: port, service: Self.logsService, logs)
                    #expect(try records.get().isEmpty)
                } else {
                    #expect(try await server.post("/v1/traces", traces, contentType: "application/x-protobuf").status == 200)
                    #expect(try await server.post("/v1/logs", logs, contentType: "application/x-protobuf").status == 200)
                }
                // The answer came after the commit: the rows are there now.
                var stored: [[[String: String]]] = []
                for (table, order) in tables {
                    stored.append(try await ProtobufReceiverTests().contents(server, table, orderBy: order))
                }
                collected.withLock { $0 += stored }
            }
        }
        let stored = collected.withLock { $0 }
        try #require(stored.count == 6)
        #expect(stored[0].count == 9 && stored[1].count == 2 && stored[2].count == 8)
        for table in 0..<3 {
            let http = stored[table], grpc = stored[table + 3]
            #expect(http.count == grpc.count)
            for (httpRow, grpcRow) in zip(http, grpc) {
                for column in Set(httpRow.keys).union(grpcRow.keys) {
                    #expect(httpRow[column] == grpcRow[column], "\(tables[table].0).\(column)")
                }
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func gzipMessagesAreInflatedAndPartialSuccessIsAnswered(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, grpc: true) { server in
            let port = try #require(server.grpcPort)
            let compressed = try await Self.export(port: port, service: Self.logsService,
                                                   try fixture("python-sdk/python-proto-logs.bin"), compression: .gzip)
            #expect(try compressed.get().isEmpty)
            #expect(try await server.count("structured_logs") == 8)

            // Two valid spans and one whose trace id has 3 bytes: the two are stored, the third
            // is reported in the response's partial success.
            let request = try OTLPJSONDecoder().decodeTraces(from: Data(try fixture("python-sdk/python-json-traces.json"))).request
            let good = Array(request.resourceSpans[0].scopeSpans[0].spans.prefix(2))
            let bytes = ProtobufReceiverTests.tracesWithRawSpan(valid: good, raw: [0x0A, 0x03, 1, 2, 3, 0x12, 0x08] + Array(repeating: 7, count: 8))
            let answer = try await Self.export(port: port, service: Self.traceService, Array(bytes), compression: .gzip)
            let partial = try #require(try OTLPProtobufResponse.partialSuccess(from: Data(answer.get())))
            #expect(partial.rejected == 1)
            #expect(partial.errorMessage.contains("traceId"), "\(partial.errorMessage)")
            #expect(try await server.count("trace_spans") == 2)
        }
    }

    @Test func badInputIsInvalidArgumentNamingTheProblem() async throws {
        try await TestServer.with(grpc: true) { server in
            let port = try #require(server.grpcPort)
            // Every span invalid: a 3-byte trace id.
            let bytes = ProtobufReceiverTests.tracesWithRawSpan(valid: [], raw: [0x0A, 0x03, 1, 2, 3, 0x12, 0x08] + Array(repeating: 7, count: 8))
            let invalidID = try #require(error(try await Self.export(port: port, service: Self.traceService, Array(bytes))))
            #expect(invalidID.code == .invalidArgument)
            #expect(invalidID.message.contains("traceId"), "\(invalidID.message)")

            // A logs request sent to the trace service, and bytes that are no protobuf at all.
            let logs = try fixture("python-sdk/python-proto-logs.bin")
            let wrongMessage = try #require(error(try await Self.export(port: port, service: Self.traceService, logs)))
            #expect(wrongMessage.code == .invalidArgument, "\(wrongMessage)")
            let garbage = try #require(error(try await Self.export(port: port, service: Self.logsService, [0xFF, 0xFF, 0xFF, 0x01])))
            #expect(garbage.code == .invalidArgument, "\(garbage)")
            #expect(try await server.count("trace_spans") == 0)
            #expect(try await server.count("structured_logs") == 0)
        }
    }

    @Test func unknownMethodsAreUnimplemented() async throws {
        try await TestServer.with(grpc: true) { server in
            let port = try #require(server.grpcPort)
            let traces = try fixture("python-sdk/python-proto-traces.bin")
            for (service, method) in [(Self.traceService, "Import"), ("opentelemetry.proto.collector.profiles.v1development.ProfilesService", "Export"),
                                      ("opentelemetry.proto.collector.metrics.v1.MetricsService", "Import")] {
                let failure = try #require(error(try await Self.export(port: port, service: service, method: method, traces)))
                #expect(failure.code == .unimplemented, "\(service)/\(method): \(failure)")
            }
            #expect(try await server.count("trace_spans") == 0)
        }
    }

    /// `MetricsService/Export` stores what `POST /v1/metrics` stores.
    @Test(arguments: StoreKind.available)
    func metricsOverGRPCAreStored(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, grpc: true) { server in
            let port = try #require(server.grpcPort)
            let message = Array(OTLPProtobufEncoder.encode(MetricsReceiverTests.request()))
            let result = try await Self.export(port: port, service: "opentelemetry.proto.collector.metrics.v1.MetricsService", message)
            guard case .success(let response) = result else { Issue.record("\(result)"); return }
            #expect(response.isEmpty, "no partialSuccess")
            #expect(try await server.count("metric_series") == 7)
            #expect(try await server.count("metric_points") == 7)
        }
    }

    @Test func oversizedMessagesAreRefused() async throws {
        let limits: [Setting: String] = [.maxBodyBytes: "2KiB", .maxInflatedBytes: "16KiB"]
        try await TestServer.with(flags: limits, grpc: true) { server in
            let port = try #require(server.grpcPort)
            // 3 KiB uncompressed: over the body limit, RESOURCE_EXHAUSTED, not worth a retry.
            let big = Array(repeating: UInt8(0), count: 3 << 10)
            let uncompressed = try #require(error(try await Self.export(port: port, service: Self.traceService, [0x0A, 0x80, 0x18] + big)))
            #expect(uncompressed.code == .resourceExhausted, "\(uncompressed)")
            #expect(uncompressed.message.contains("exceeds the limit of 2048 bytes"), "\(uncompressed.message)")
            #expect(try retryDelay(uncompressed) == nil, "an oversized message is not worth retrying")
            // 20 KiB of zeros gzip to a few dozen bytes and inflate beyond 16 KiB: the transport
            // stops inflating at the limit and resets the stream (grpc-swift's transport answers
            // no status there; the client sees UNAVAILABLE).
            let bomb = Array(repeating: UInt8(0), count: 20 << 10)
            let inflated = try #require(error(try await Self.export(port: port, service: Self.traceService, bomb, compression: .gzip)))
            #expect([.resourceExhausted, .unavailable].contains(inflated.code), "\(inflated)")
            #expect(try await server.count("trace_spans") == 0)

            // Within the limits, compressed beyond the body limit once inflated: accepted.
            let traces = try fixture("python-sdk/python-proto-traces.bin")
            #expect(traces.count > 2 << 10)
            #expect(try await Self.export(port: port, service: Self.traceService, traces, compression: .gzip).get().isEmpty)
            #expect(try await server.count("trace_spans") == 9)
        }
    }

    @Test func ingestTokensAreReadFromTheAuthorizationMetadata() async throws {
        try await TestServer.with(environment: ["SIGHTLINE_INGEST_TOKENS": "alpha,beta"], grpc: true) { server in
            let port = try #require(server.grpcPort)
            let traces = try fixture("python-sdk/python-proto-traces.bin")
            let missing = try #require(error(try await Self.export(port: port, service: Self.traceService, traces)))
            #expect(missing.code == .unauthenticated)
            #expect(!missing.message.contains("alpha") && !missing.message.contains("beta"), "\(missing.message)")
            let wrong = try #require(error(try await Self.export(port: port, service: Self.traceService, traces,
                                                                 metadata: ["authorization": "Bearer gamma"])))
            #expect(wrong.code == .unauthenticated)
            #expect(try await server.count("trace_spans") == 0)

            let accepted = try await Self.export(port: port, service: Self.traceService, traces, metadata: ["authorization": "Bearer beta"])
            #expect(try accepted.get().isEmpty)
            #expect(try await server.count("trace_spans") == 9)
        }
    }

    /// With room for one submission, an OTLP/HTTP request holding it (its body only half sent)
    /// makes a gRPC export `RESOURCE_EXHAUSTED` with a `RetryInfo` of 1 s: what OTLP exporters
    /// retry after the delay.
    @Test(arguments: StoreKind.available)
    func aFullQueueIsResourceExhaustedWithRetryInfo(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, flags: [.queueCapacity: "1"], grpc: true) { server in
            let port = try #require(server.grpcPort)
            let body = tracesJSON([(String(format: "%032x", 0xD0_0001), "a000000000000001", nil, "held",
                                    1_700_000_000_000_000_000, 1_700_000_000_100_000_000)])
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

            // The held request reaches the handler in its own time; until then an export may be
            // accepted (its place is free), so poll, bounded.
            let logs = try fixture("python-sdk/python-proto-logs.bin")
            var refused: RPCError?
            for _ in 0..<100 {
                switch try await Self.export(port: port, service: Self.logsService, logs) {
                case .failure(let error): refused = error
                case .success: try await Task.sleep(for: .milliseconds(50))
                }
                if refused != nil { break }
            }
            let failure = try #require(refused, "no export was refused while the one place was held")
            #expect(failure.code == .resourceExhausted, "\(failure)")
            #expect(try retryDelay(failure) == .seconds(1))

            rest.yield(ByteBuffer(bytes: body.dropFirst(10)))
            rest.finish()
            #expect(try await held.value == 200)
            #expect(try await Self.export(port: port, service: Self.logsService, logs).get().isEmpty)
        }
    }

    /// The statuses of every receiver failure, as the OTLP specification names them.
    @Test func receiverFailuresMapToOTLPStatusCodes() throws {
        let cases: [(IngestFailure, RPCError.Code, Duration?)] = [
            (.badRequest("resourceSpans[0]: traceId must be 16 bytes"), .invalidArgument, nil),
            (.unauthorized, .unauthenticated, nil),
            (.payloadTooLarge("too large"), .resourceExhausted, nil),
            (.overloaded, .resourceExhausted, .seconds(1)),
            (.unavailable, .unavailable, .seconds(5)),
            (.shuttingDown, .unavailable, .seconds(5)),
        ]
        for (failure, code, delay) in cases {
            let error = OTLPGRPCService.rpcError(for: failure)
            #expect(error.code == code, "\(failure)")
            #expect(error.message == failure.message)
            #expect(try retryDelay(error) == delay, "\(failure)")
            if let delay {
                // The details travel in the trailers OTLP exporters read: the Python SDK's is the
                // RetryInfo alone (field 1: a Duration whose field 1 is the seconds).
                #expect(!error.metadata[binaryValues: "grpc-status-details-bin"].map { $0 }.isEmpty)
                let seconds = UInt8(delay.components.seconds)
                #expect(error.metadata[binaryValues: "google.rpc.retryinfo-bin"].map { $0 } == [[0x0A, 0x02, 0x08, seconds]])
            }
        }
    }
}
