import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP request over loopback, its answer read whole (at most 16 MiB, 30 s).
public func request(_ url: String, method: HTTPMethod, body: [UInt8]? = nil, contentType: String? = nil,
                    headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> Answer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: timeout)
    let buffer = try await response.body.collect(upTo: 16 << 20)
    return Answer(status: Int(response.status.code), headers: response.headers, bytes: Array(buffer: buffer))
}

/// A request with a JSON body: `json` serialised, or `raw` as it is.
public func http(_ method: HTTPMethod, _ url: String, json: Any? = nil, raw: String? = nil,
                 headers: [(String, String)] = []) async throws -> Answer {
    var body: [UInt8]?
    if let json { body = Array(try JSONSerialization.data(withJSONObject: json)) } else if let raw { body = Array(raw.utf8) }
    return try await request(url, method: method, body: body, contentType: body == nil ? nil : "application/json", headers: headers)
}

/// An OTLP/JSON trace request with one span per `(traceId, spanId, parentSpanId?)`.
public func tracesJSON(_ spans: [(trace: String, span: String, parent: String?, name: String, start: UInt64, end: UInt64)],
                       service: String = "checkout", attributes: String = "[]") -> [UInt8] {
    let spanJSON = spans.map { span in
        """
        {"traceId":"\(span.trace)","spanId":"\(span.span)",\(span.parent.map { "\"parentSpanId\":\"\($0)\"," } ?? "")
         "name":"\(span.name)","kind":2,"startTimeUnixNano":"\(span.start)","endTimeUnixNano":"\(span.end)",
         "attributes":\(attributes),"status":{}}
        """
    }.joined(separator: ",")
    return Array("""
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"\(service)"}}]},
         "scopeSpans":[{"scope":{"name":"test"},"spans":[\(spanJSON)]}]}]}
        """.utf8)
}
