import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OTLP
import Store

/// The OTLP/HTTP receiver: `POST /v1/traces`, `POST /v1/logs` and `POST /v1/metrics` (docs/api.md), in OTLP/JSON
/// (`application/json`) or protobuf (`application/x-protobuf`), answered in the same encoding.
///
/// A 200 means every accepted item is committed. Invalid items are rejected one by one
/// (`partialSuccess`); a request whose every item is invalid gets 400.
public struct OTLPReceiver: Sendable {
    public struct Configuration: Sendable {
        public var maxBodyBytes: Int
        public var maxInflatedBytes: Int
        /// When non-empty, requests need `Authorization: Bearer <one of these>`.
        public var ingestTokens: [String]
        /// Prices of the LLM calls that GenAI spans describe (`llm_call_metrics.cost_usd`).
        public var llmPrices: LLMPriceTable
        /// Requests read and decoded at once; more are refused with 503 before their body is read.
        public var maxConcurrentDecodes: Int = Configuration.defaultConcurrentDecodes

        /// Two per core, at least eight: enough that a handful of clients never meet the limit.
        public static var defaultConcurrentDecodes: Int { max(8, 2 * ProcessInfo.processInfo.activeProcessorCount) }

        public init(maxBodyBytes: Int = 20 << 20, maxInflatedBytes: Int = 64 << 20, ingestTokens: [String] = [],
                    llmPrices: LLMPriceTable = .default) {
            self.maxBodyBytes = maxBodyBytes
            self.maxInflatedBytes = maxInflatedBytes
            self.ingestTokens = ingestTokens
            self.llmPrices = llmPrices
        }
    }

    public enum Signal: String, Sendable {
        case traces, logs, metrics

        var rejectedKey: String {
            switch self {
            case .traces: "rejectedSpans"
            case .logs: "rejectedLogRecords"
            case .metrics: "rejectedDataPoints"
            }
        }
    }

    private let configuration: Configuration
    private let writer: BatchWriter
    private let jsonDecoder = OTLPJSONDecoder()
    private let protobufDecoder = OTLPProtobufDecoder()
    private let logger: Logger
    private let metrics: ReceiverMetrics
    private let admission: DecodeAdmission

    /// `metricsFactory` receives the `otelcol_receiver_*` counters (see `ReceiverMetrics`).
    public init(configuration: Configuration, writer: BatchWriter, logger: Logger,
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.metrics = ReceiverMetrics(factory: metricsFactory)
        self.configuration = configuration
        self.admission = DecodeAdmission(limit: max(1, configuration.maxConcurrentDecodes))
        self.writer = writer
        self.logger = logger
    }

    /// The router of the OTLP port; `middleware` (request metrics) wraps every route.
    public func router(middleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>] = []) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        for middleware in middleware { router.add(middleware: middleware) }
        for signal in [Signal.traces, .logs, .metrics] {
            let path = RouterPath("/v1/\(signal.rawValue)")
            router.post(path) { request, _ in await self.handle(request, signal: signal) }
            for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head, .options] {
                router.on(path, method: method) { request, _ in
                    IngestFailure.methodNotAllowed.response(in: OTLPEncoding(contentType: request.headers[.contentType]) ?? .json)
                }
            }
        }
        return router
    }

    /// Handles one export request; never throws (every failure becomes a response).
    public func handle(_ request: Request, signal: Signal) async -> Response {
        // Failures answer in the request's encoding; JSON when the media type is unsupported.
        let encoding = OTLPEncoding(contentType: request.headers[.contentType])
        do {
            return try await export(request, signal: signal, encoding: encoding)
        } catch {
            if error.status == .badRequest || error.status == .contentTooLarge {
                logger.debug("rejected OTLP request", metadata: [
                    "otlp.signal": "\(signal.rawValue)", "otlp.encoding": "\(encoding?.rawValue ?? "none")", "error": "\(error.message)",
                ])
            }
            return error.response(in: encoding ?? .json)
        }
    }

    private func export(_ request: Request, signal: Signal, encoding: OTLPEncoding?) async throws(IngestFailure) -> Response {
        try authorize(request.headers[.authorization])
        guard let encoding else {
            let mediaType = (request.headers[.contentType] ?? "").split(separator: ";").first.map { String($0).trimmed.lowercased() } ?? ""
            throw .unsupportedMediaType(mediaType)
        }
        let limits = RequestBody(maxBodyBytes: configuration.maxBodyBytes, maxInflatedBytes: configuration.maxInflatedBytes)
        let rejected = try await ingest(signal: signal, encoding: encoding, transport: .http) { () async throws(IngestFailure) -> Data in
            let body = try await limits.read(request)
            return Data(buffer: body, byteTransferStrategy: .noCopy)
        }
        return Self.success(rejected: rejected, signal: signal, encoding: encoding)
    }

    /// One OTLP protobuf export request whose message was read by another transport (OTLP/gRPC):
    /// the same token check, admission, validation and partial success as `POST /v1/<signal>`,
    /// and the same durability (it returns once every accepted item is committed).
    ///
    /// - Parameters:
    ///   - message: the serialized `Export<Signal>ServiceRequest`, already within the size limits.
    ///   - authorization: the request's `authorization` value (`Bearer <token>`), if any.
    /// - Returns: the serialized `Export<Signal>ServiceResponse` (partial success when items were rejected).
    public func export(protobuf message: Data, signal: Signal, authorization: String?) async throws(IngestFailure) -> Data {
        try authorize(authorization)
        let rejected = try await ingest(signal: signal, encoding: .protobuf, transport: .grpc) { () async throws(IngestFailure) -> Data in
            message
        }
        return Self.protobufResponse(rejected: rejected, signal: signal)
    }

    /// Admission, decoding (the body is read only once admitted), validation and the commit;
    /// returns the items rejected one by one.
    private func ingest(signal: Signal, encoding: OTLPEncoding, transport: ReceiverMetrics.Transport,
                        body: () async throws(IngestFailure) -> Data) async throws(IngestFailure) -> [OTLPDecodingError] {
        // Refuse before reading the body when the queue is full or enough requests are being
        // decoded already: under overload the answer is immediate and costs no memory. A
        // request let in has its place in the queue reserved, so its decoding is never
        // wasted on a refusal afterwards (under overload, before the reservation, three of
        // four decoded requests were refused at the queue and the decoders starved the
        // writer of CPU).
        guard admission.tryEnter() else { throw .overloaded }
        do {
            try writer.reserve()
        } catch {
            admission.leave()
            switch error {
            case .shuttingDown: throw .shuttingDown
            case .overloaded, .storeUnavailable: throw .overloaded
            }
        }
        let decoded: (batch: WriteBatch, rejected: [OTLPDecodingError], accepted: Int)
        do {
            defer { admission.leave() }
            decoded = try await decode(body(), signal: signal, encoding: encoding)
        } catch {
            writer.cancelReservation()
            throw error
        }
        let (batch, rejected, accepted) = decoded
        if accepted == 0, let first = rejected.first {
            writer.cancelReservation()
            metrics.record(signal, encoding, transport, accepted: 0, refused: rejected.count)
            throw .badRequest(Self.summary(of: rejected, first: first))
        }

        do {
            try await writer.submit(batch, reserved: true)
        } catch {
            metrics.record(signal, encoding, transport, accepted: 0, refused: accepted + rejected.count)
            switch error {
            case .overloaded: throw .overloaded
            case .storeUnavailable: throw .unavailable
            case .shuttingDown: throw .shuttingDown
            }
        }
        metrics.record(signal, encoding, transport, accepted: accepted, refused: rejected.count)
        return rejected
    }

    /// Decodes the body and maps it onto rows.
    private func decode(_ data: Data, signal: Signal, encoding: OTLPEncoding) throws(IngestFailure)
        -> (batch: WriteBatch, rejected: [OTLPDecodingError], accepted: Int) {
        // Both decoders produce the same model, so there is one mapping onto rows.
        let batch: WriteBatch
        let rejected: [OTLPDecodingError]
        let accepted: Int
        do {
            switch signal {
            case .traces:
                let decoded = switch encoding {
                case .json: try jsonDecoder.decodeTraces(from: data)
                case .protobuf: try protobufDecoder.decodeTraces(from: data)
                }
                batch = decoded.request.writeBatch(prices: configuration.llmPrices)
                rejected = decoded.rejected
                accepted = decoded.request.spanCount
            case .logs:
                let decoded = switch encoding {
                case .json: try jsonDecoder.decodeLogs(from: data)
                case .protobuf: try protobufDecoder.decodeLogs(from: data)
                }
                batch = decoded.request.writeBatch(arrivalUnixNano: Int64(Date.now.timeIntervalSince1970 * 1e9))
                rejected = decoded.rejected
                accepted = decoded.request.logRecordCount
            case .metrics:
                let decoded = switch encoding {
                case .json: try jsonDecoder.decodeMetrics(from: data)
                case .protobuf: try protobufDecoder.decodeMetrics(from: data)
                }
                batch = decoded.request.writeBatch()
                rejected = decoded.rejected
                accepted = decoded.request.dataPointCount
            }
        } catch {
            throw .badRequest(error.description)
        }
        return (batch, rejected, accepted)
    }

    private func authorize(_ header: String?) throws(IngestFailure) {
        guard !configuration.ingestTokens.isEmpty else { return }
        guard let header, header.lowercased().hasPrefix("bearer ") else {
            throw .unauthorized
        }
        let presented = String(header.dropFirst("bearer ".count)).trimmed
        guard configuration.ingestTokens.contains(where: { ConstantTime.equal($0, presented) }) else {
            throw .unauthorized
        }
    }

    static func summary(of rejected: [OTLPDecodingError], first: OTLPDecodingError) -> String {
        let more = rejected.count - 1
        return more > 0 ? "\(first.description) (and \(more) more rejected)" : first.description
    }

    /// The `Export<Signal>ServiceResponse`, with a partial success when items were rejected.
    static func protobufResponse(rejected: [OTLPDecodingError], signal: Signal) -> Data {
        let count = Int64(rejected.count)
        let message = rejected.first.map { summary(of: rejected, first: $0) } ?? ""
        return switch signal {
        case .traces: OTLPProtobufEncoder.traceResponse(rejectedSpans: count, errorMessage: message)
        case .logs: OTLPProtobufEncoder.logsResponse(rejectedLogRecords: count, errorMessage: message)
        case .metrics: OTLPProtobufEncoder.metricsResponse(rejectedDataPoints: count, errorMessage: message)
        }
    }

    static func success(rejected: [OTLPDecodingError], signal: Signal, encoding: OTLPEncoding) -> Response {
        guard encoding == .json else {
            let body = protobufResponse(rejected: rejected, signal: signal)
            return Response(status: .ok, headers: [.contentType: encoding.contentType], body: .init(byteBuffer: ByteBuffer(data: body)))
        }
        var body = JSONWriter()
        body.beginObject()
        if let first = rejected.first {
            body.key("partialSuccess")
            body.beginObject()
            body.key(signal.rejectedKey); body.string(String(rejected.count))
            body.key("errorMessage"); body.string(summary(of: rejected, first: first))
            body.endObject()
        }
        body.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}

/// Comparison whose time does not depend on where two secrets differ.
enum ConstantTime {
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
