import Foundation
import HTTPTypes
import Hummingbird
import OTLP

/// Every way an OTLP/HTTP request can fail, mapped to a status in one place (`response`).
public enum IngestFailure: Error, Sendable, Equatable {
    case notFound(path: String)
    case methodNotAllowed
    case unauthorized
    case unsupportedMediaType(String)
    case unsupportedEncoding(String)
    case payloadTooLarge(String)
    case badRequest(String)
    /// The writer's queue is full.
    case overloaded
    /// The store cannot commit right now.
    case unavailable
    case shuttingDown

    public var status: HTTPResponse.Status {
        switch self {
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .unauthorized: .unauthorized
        case .unsupportedMediaType: .unsupportedMediaType
        case .unsupportedEncoding, .badRequest: .badRequest
        case .payloadTooLarge: .contentTooLarge
        case .overloaded, .unavailable, .shuttingDown: .serviceUnavailable
        }
    }

    /// The `google.rpc.Code` that goes with the status (also the OTLP/gRPC status code).
    public var rpcCode: Int {
        switch self {
        case .notFound: 5 // NOT_FOUND
        case .methodNotAllowed: 12 // UNIMPLEMENTED
        case .unauthorized: 16 // UNAUTHENTICATED
        case .unsupportedMediaType, .unsupportedEncoding, .badRequest: 3 // INVALID_ARGUMENT
        case .payloadTooLarge, .overloaded: 8 // RESOURCE_EXHAUSTED
        case .unavailable, .shuttingDown: 14 // UNAVAILABLE
        }
    }

    public var message: String {
        switch self {
        case .notFound(let path): "no OTLP endpoint at \(path); use /v1/traces, /v1/logs or /v1/metrics"
        case .methodNotAllowed: "method not allowed; OTLP/HTTP uses POST"
        case .unauthorized: "missing or invalid ingest token (Authorization: Bearer <token>)"
        case .unsupportedMediaType(let type):
            "unsupported Content-Type \"\(type)\"; send OTLP/HTTP JSON (application/json) or protobuf (application/x-protobuf)"
        case .unsupportedEncoding(let encoding):
            "unsupported Content-Encoding \"\(encoding)\"; use gzip, deflate or none"
        case .payloadTooLarge(let detail): detail
        case .badRequest(let detail): detail
        case .overloaded: "ingest queue is full; retry later"
        case .unavailable: "store is unavailable; retry later"
        case .shuttingDown: "Sightline is shutting down; retry later"
        }
    }

    /// Seconds a client should wait before retrying, for the transient failures.
    public var retryAfterSeconds: Int? {
        switch self {
        case .overloaded: 1
        case .unavailable, .shuttingDown: 5
        default: nil
        }
    }

    /// The HTTP response: a `google.rpc.Status` body in `encoding` and, when retryable, `Retry-After`.
    public func response(in encoding: OTLPEncoding = .json) -> Response {
        let body: ByteBuffer
        switch encoding {
        case .json:
            var json = JSONWriter()
            json.beginObject()
            json.key("code"); json.int(Int64(rpcCode))
            json.key("message"); json.string(message)
            json.endObject()
            body = ByteBuffer(bytes: json.bytes)
        case .protobuf:
            body = ByteBuffer(data: OTLPProtobufEncoder.status(code: Int32(rpcCode), message: message))
        }
        var headers: HTTPFields = [.contentType: encoding.contentType]
        if let seconds = retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        if case .methodNotAllowed = self { headers[.allow] = "POST" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}

/// The two OTLP/HTTP encodings, chosen by the request's `Content-Type`; the response uses the
/// request's encoding.
public enum OTLPEncoding: String, Sendable {
    case json
    case protobuf

    /// The encoding of a request with this `Content-Type` (parameters and case ignored);
    /// `nil` for any other media type.
    public init?(contentType: String?) {
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch mediaType {
        case "application/json": self = .json
        // `application/protobuf` is the registered name; OTLP clients send the `x-` form.
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        default: return nil
        }
    }

    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .protobuf: "application/x-protobuf"
        }
    }
}

extension HTTPField.Name {
    static let retryAfter = HTTPField.Name("Retry-After")!
}
