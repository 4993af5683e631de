import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OTLP
import Store

/// The OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/logs` (DESIGN §3).
///
/// A 200 means every accepted item is committed. Invalid items are rejected one by one
/// (`partialSuccess`); a request whose every item is invalid gets 400.
public struct OTLPReceiver: Sendable {
    public struct Configuration: Sendable {
        public var maxBodyBytes: Int
        public var maxInflatedBytes: Int
        /// When non-empty, requests need `Authorization: Bearer <one of these>`.
        public var ingestTokens: [String]

        public init(maxBodyBytes: Int = 20 << 20, maxInflatedBytes: Int = 64 << 20, ingestTokens: [String] = []) {
            self.maxBodyBytes = maxBodyBytes
            self.maxInflatedBytes = maxInflatedBytes
            self.ingestTokens = ingestTokens
        }
    }

    public enum Signal: String, Sendable {
        case traces, logs

        var itemName: String { self == .traces ? "spans" : "log records" }
        var rejectedKey: String { self == .traces ? "rejectedSpans" : "rejectedLogRecords" }
    }

    private let configuration: Configuration
    private let writer: BatchWriter
    private let decoder = OTLPJSONDecoder()
    private let logger: Logger

    public init(configuration: Configuration, writer: BatchWriter, logger: Logger) {
        self.configuration = configuration
        self.writer = writer
        self.logger = logger
    }

    /// The router of the OTLP port.
    public func router<Context: RequestContext>(context: Context.Type = BasicRequestContext.self) -> Router<Context> {
        let router = Router(context: Context.self)
        for signal in [Signal.traces, .logs] {
            let path = RouterPath("/v1/\(signal.rawValue)")
            router.post(path) { request, _ in await self.handle(request, signal: signal) }
            for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head, .options] {
                router.on(path, method: method) { _, _ in IngestFailure.methodNotAllowed.response }
            }
        }
        return router
    }

    /// Handles one export request; never throws (every failure becomes a response).
    public func handle(_ request: Request, signal: Signal) async -> Response {
        do {
            return try await export(request, signal: signal)
        } catch {
            if error.status == .badRequest || error.status == .contentTooLarge {
                logger.debug("rejected OTLP request", metadata: ["otlp.signal": "\(signal.rawValue)", "error": "\(error.message)"])
            }
            return error.response
        }
    }

    private func export(_ request: Request, signal: Signal) async throws(IngestFailure) -> Response {
        try authorize(request)
        let mediaType = (request.headers[.contentType] ?? "").split(separator: ";").first.map { String($0).trimmed.lowercased() } ?? ""
        guard mediaType == "application/json" else { throw .unsupportedMediaType(mediaType) }

        let body = try await RequestBody(maxBodyBytes: configuration.maxBodyBytes,
                                         maxInflatedBytes: configuration.maxInflatedBytes).read(request)
        let data = Data(buffer: body, byteTransferStrategy: .noCopy)

        let batch: WriteBatch
        let rejected: [OTLPDecodingError]
        let accepted: Int
        do {
            switch signal {
            case .traces:
                let decoded = try decoder.decodeTraces(from: data)
                batch = decoded.request.writeBatch()
                rejected = decoded.rejected
                accepted = decoded.request.spanCount
            case .logs:
                let decoded = try decoder.decodeLogs(from: data)
                batch = decoded.request.writeBatch(arrivalUnixNano: Int64(Date.now.timeIntervalSince1970 * 1e9))
                rejected = decoded.rejected
                accepted = decoded.request.logRecordCount
            }
        } catch {
            throw .badRequest(error.description)
        }
        if accepted == 0, let first = rejected.first {
            throw .badRequest(Self.summary(of: rejected, first: first))
        }

        do {
            try await writer.submit(batch)
        } catch {
            switch error {
            case .overloaded: throw .overloaded
            case .storeUnavailable: throw .unavailable
            case .shuttingDown: throw .shuttingDown
            }
        }
        return Self.success(rejected: rejected, signal: signal)
    }

    private func authorize(_ request: Request) throws(IngestFailure) {
        guard !configuration.ingestTokens.isEmpty else { return }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
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

    static func success(rejected: [OTLPDecodingError], signal: Signal) -> Response {
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
