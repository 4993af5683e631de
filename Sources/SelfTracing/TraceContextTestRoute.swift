import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Instrumentation
import NIOCore
import NIOHTTP1
import Tracing

/// `POST /_test/tracecontext` for the W3C Trace Context test suite (docs/api.md): the body is
/// `[{"url": "...", "arguments": [...]}]`; each `arguments` is POSTed as JSON to its `url`, each
/// call from a new child span of the request's span, carrying `traceparent` and `tracestate`.
/// Off unless configured, and then only on a loopback API address (checked at start-up), and
/// only towards loopback URLs.
public struct TraceContextTestRoute: Sendable {
    let tracer: SightlineTracer
    static let maxCalls = 32
    static let maxBodyBytes = 1 << 20

    public init(tracer: SightlineTracer) { self.tracer = tracer }

    /// The route's own client: redirects are not followed, so a loopback URL cannot send the
    /// call on to another address.
    static let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    public func handle(_ request: Request) async -> Response {
        let calls: [(url: String, arguments: Data)]
        do {
            var body = request.body
            let buffer = try await body.collect(upTo: Self.maxBodyBytes)
            guard let list = try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [[String: Any]] else {
                return Self.answer(.badRequest, "body: expected [{\"url\": ..., \"arguments\": ...}]")
            }
            calls = try list.map { entry in
                guard let url = entry["url"] as? String else { throw CocoaError(.coderInvalidValue) }
                let arguments = try JSONSerialization.data(withJSONObject: entry["arguments"] ?? [Any](), options: [.fragmentsAllowed])
                return (url, arguments)
            }
        } catch {
            return Self.answer(.badRequest, "body: expected [{\"url\": ..., \"arguments\": ...}]")
        }
        guard calls.count <= Self.maxCalls else { return Self.answer(.badRequest, "body: at most \(Self.maxCalls) calls") }
        for call in calls {
            guard let url = URL(string: call.url), url.scheme == "http", let host = url.host, Self.isLoopback(host) else {
                return Self.answer(.badRequest, "url: only http URLs on a loopback IP address (127.0.0.0/8 or [::1])")
            }
        }
        let parent = InstrumentationContext.current ?? .topLevel
        for call in calls {
            let span = tracer.startSpan("POST \(call.url)", context: parent, ofKind: .client)
            var outgoing = HTTPClientRequest(url: call.url)
            outgoing.method = .POST
            outgoing.headers.add(name: "Content-Type", value: "application/json")
            tracer.inject(span.context, into: &outgoing.headers, using: NIOHeaderInjector())
            outgoing.body = .bytes(ByteBuffer(data: call.arguments))
            do {
                let response = try await Self.client.execute(outgoing, timeout: .seconds(5))
                _ = try await response.body.collect(upTo: 1 << 20)
                span.attributes["http.response.status_code"] = Int64(response.status.code)
            } catch {
                span.recordError(error)
                span.setStatus(.init(code: .error))
            }
            span.end()
        }
        return Self.answer(.ok, nil)
    }

    /// An IP literal of the loopback interface (127.0.0.0/8, `::1`); never a name, which could
    /// resolve anywhere (`127.0.0.1.evil.example`, or `localhost` on a tampered resolver).
    static func isLoopback(_ host: String) -> Bool {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
        }
        return false
    }

    static func answer(_ status: HTTPResponse.Status, _ error: String?) -> Response {
        let body = error.flatMap { try? JSONSerialization.data(withJSONObject: ["error": $0]) } ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}

struct NIOHeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout NIOHTTP1.HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
