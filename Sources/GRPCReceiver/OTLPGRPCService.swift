import Foundation
import GRPCCore
import Ingest
import Logging

/// The OTLP/gRPC services: each `Export` method hands the request message's bytes, undecoded,
/// to the OTLP/HTTP receiver's ingest path (`OTLPReceiver.export(protobuf:signal:authorization:)`),
/// so both transports share the token check, admission, validation, partial success and
/// durability (the answer comes after the commit).
///
/// A method not in `routes` is answered `UNIMPLEMENTED` by the server.
public struct OTLPGRPCService: RegistrableRPCService {
    /// One OTLP service and the receiver's signal its `Export` method feeds.
    public struct Route: Sendable {
        public var service: String
        public var signal: OTLPReceiver.Signal

        public var method: MethodDescriptor {
            MethodDescriptor(fullyQualifiedService: service, method: "Export")
        }
    }

    /// The services served. `opentelemetry.proto.collector.metrics.v1.MetricsService` joins
    /// them with the metrics signal; until then its `Export` is `UNIMPLEMENTED`.
    public static let routes: [Route] = [
        Route(service: "opentelemetry.proto.collector.trace.v1.TraceService", signal: .traces),
        Route(service: "opentelemetry.proto.collector.logs.v1.LogsService", signal: .logs),
        Route(service: "opentelemetry.proto.collector.metrics.v1.MetricsService", signal: .metrics),
    ]

    private let receiver: OTLPReceiver
    /// `maxBodyBytes`: the limit of a message sent without compression (a compressed one is
    /// held to the transport's limit, `maxInflatedBytes`, once inflated).
    private let maxUncompressedBytes: Int
    private let logger: Logger

    public init(receiver: OTLPReceiver, maxUncompressedBytes: Int, logger: Logger) {
        self.receiver = receiver
        self.maxUncompressedBytes = maxUncompressedBytes
        self.logger = logger
    }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        for route in Self.routes {
            router.registerHandler(forMethod: route.method, deserializer: MessageBytes(), serializer: MessageBytes()) { request, _ in
                let message = try await ServerRequest(stream: request)
                let response = try await export(message, signal: route.signal)
                return StreamingServerResponse(single: ServerResponse(message: response))
            }
        }
    }

    /// One export; every failure becomes the `RPCError` the OTLP specification names.
    func export(_ request: ServerRequest<[UInt8]>, signal: OTLPReceiver.Signal) async throws(RPCError) -> [UInt8] {
        let encoding = request.metadata[stringValues: "grpc-encoding"].first(where: { _ in true }) ?? "identity"
        if encoding == "identity", request.message.count > maxUncompressedBytes {
            throw RPCError(code: .resourceExhausted,
                           message: "message of \(request.message.count) bytes exceeds the limit of \(maxUncompressedBytes) bytes")
        }
        let authorization = request.metadata[stringValues: "authorization"].first(where: { _ in true })
        do {
            return Array(try await receiver.export(protobuf: Data(request.message), signal: signal, authorization: authorization))
        } catch {
            if case .badRequest = error {
                logger.debug("rejected OTLP/gRPC request", metadata: ["otlp.signal": "\(signal.rawValue)", "error": "\(error.message)"])
            }
            throw Self.rpcError(for: error)
        }
    }

    /// The gRPC status of a receiver failure: the HTTP side's `google.rpc.Code`, and for the
    /// retryable ones (queue full: `RESOURCE_EXHAUSTED`; store down or shutting down:
    /// `UNAVAILABLE`) a `google.rpc.RetryInfo` with the delay before a retry, in the two
    /// trailers exporters read it from: `grpc-status-details-bin` (a `google.rpc.Status` with
    /// it among the details: the Collector, Go and Java) and `google.rpc.retryinfo-bin` (the
    /// `RetryInfo` alone: the Python SDK). An oversized message is `RESOURCE_EXHAUSTED` without
    /// `RetryInfo`: sending it again cannot help.
    public static func rpcError(for failure: IngestFailure) -> RPCError {
        let code = Status.Code(rawValue: failure.rpcCode).flatMap(RPCError.Code.init) ?? .unknown
        guard let seconds = failure.retryAfterSeconds else {
            return RPCError(code: code, message: failure.message)
        }
        let retryInfo = RPCStatusDetails.retryInfo(seconds: seconds)
        var metadata: Metadata = [:]
        metadata.addBinary(RPCStatusDetails.status(code: failure.rpcCode, message: failure.message, details: [retryInfo]),
                           forKey: "grpc-status-details-bin")
        metadata.addBinary(retryInfo.value, forKey: "google.rpc.retryinfo-bin")
        return RPCError(code: code, message: failure.message, metadata: metadata)
    }
}

/// The few `google.rpc` messages the receiver sends, written by hand (a handful of bytes; no
/// generated code or extra package for them).
enum RPCStatusDetails {
    /// A `google.protobuf.Any`: the type's URL and the message's bytes.
    struct AnyMessage: Equatable {
        var typeURL: String
        var value: [UInt8]
    }

    /// `google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1; }` of whole seconds.
    static func retryInfo(seconds: Int) -> AnyMessage {
        let duration = seconds > 0 ? [0x08] + varint(UInt64(seconds)) : [] // Duration { int64 seconds = 1; }
        return AnyMessage(typeURL: "type.googleapis.com/google.rpc.RetryInfo", value: field(1, duration))
    }

    /// `google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }`
    static func status(code: Int, message: String, details: [AnyMessage]) -> [UInt8] {
        var bytes: [UInt8] = [0x08] + varint(UInt64(code))
        bytes += field(2, Array(message.utf8))
        for detail in details {
            bytes += field(3, field(1, Array(detail.typeURL.utf8)) + field(2, detail.value))
        }
        return bytes
    }

    /// A length-delimited field.
    static func field(_ number: UInt8, _ body: [UInt8]) -> [UInt8] {
        [number << 3 | 2] + varint(UInt64(body.count)) + body
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return bytes + [UInt8(value)]
    }
}

/// A message passed through as its serialized bytes: the receiver decodes it itself.
struct MessageBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
