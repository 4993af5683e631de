import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OTLP
import Store

/// Every refusal of the query API: a real status and `{"error": "..."}` (docs/api.md).
public struct QueryFailure: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func badParameter(_ name: String, _ problem: String) -> QueryFailure {
        QueryFailure(.badRequest, "\(name): \(problem)")
    }

    static func notFound(_ what: String) -> QueryFailure { QueryFailure(.notFound, "\(what) not found") }

    static let storeUnavailable = QueryFailure(.serviceUnavailable, "store is unavailable; retry later")

    /// A failed read as the client sees it: 422 when it ran past the store's time limit (the
    /// query asks too much; retrying will not help), 503 with `Retry-After` when the store is
    /// busy with as many queries as it takes or is unavailable. Never the store's own text.
    public static func read(_ error: any Error) -> QueryFailure {
        switch (error as? StoreError)?.kind {
        case .timeLimitExceeded(let limit)?:
            QueryFailure(.unprocessableContent, "query exceeded the \(ReadTimeLimit.text(limit)) time limit; narrow the time range or the query")
        case .tooManyReads?: QueryFailure(.serviceUnavailable, "too many queries at once; retry later")
        case .failed?, nil: storeUnavailable
        }
    }

    public var response: Response {
        var body = JSONWriter()
        body.beginObject()
        body.key("error"); body.string(message)
        body.endObject()
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if status == .serviceUnavailable { headers[HTTPField.Name("Retry-After")!] = "5" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}

extension Response {
    /// A 200 JSON response written by `fill` (an object's members).
    static func jsonObject(_ fill: (inout JSONWriter) -> Void) -> Response {
        var body = JSONWriter(capacity: 4096)
        body.beginObject()
        fill(&body)
        body.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}
