import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OTLP

/// Every refusal of the query API: a real status and `{"error": "..."}` (DESIGN §5).
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
