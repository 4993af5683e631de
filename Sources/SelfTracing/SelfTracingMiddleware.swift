import HTTPTypes
import Hummingbird
import Instrumentation
import Tracing

/// Traces every request through it with `SightlineTracer` (docs/architecture.md): continues a valid
/// incoming `traceparent`, else starts a trace; answers with `traceparent` and `X-Trace-ID`.
/// Paths in `untraced` (the probes) are passed through untouched.
public struct SelfTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    let tracer: SightlineTracer
    let untraced: Set<String>

    public init(tracer: SightlineTracer, untraced: Set<String> = ["/health", "/ready"]) {
        self.tracer = tracer
        self.untraced = untraced
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !untraced.contains(request.uri.path) else { return try await next(request, context) }
        var incoming = InstrumentationContext.topLevel
        tracer.extract(request.headers, into: &incoming, using: HeaderExtractor())
        let span = tracer.startSpan("\(request.method.rawValue) \(request.uri.path)", context: incoming, ofKind: .server)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.path"] = request.uri.path
            attributes["url.scheme"] = "http"
            if let agent = request.headers[.userAgent] { attributes["user_agent.original"] = agent }
        }
        var response: Response
        do {
            response = try await InstrumentationContext.$current.withValue(span.context) {
                try await next(request, context)
            }
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            span.recordError(error)
            span.setStatus(.init(code: .error))
            span.end()
            throw error
        }
        // The route's pattern names the operation, not the path with its ids.
        if let route = context.endpointPath {
            span.operationName = "\(request.method.rawValue) \(route)"
            span.attributes["http.route"] = route
        }
        span.attributes["http.response.status_code"] = Int64(response.status.code)
        if response.status.code >= 500 { span.setStatus(.init(code: .error, message: response.status.reasonPhrase)) }
        span.end()
        var headers = response.headers
        tracer.inject(span.context, into: &headers, using: HeaderInjector())
        headers[HTTPField.Name("X-Trace-ID")!] = span.traceContext.traceID.description
        response.headers = headers
        return response
    }
}

/// Reads one header for the tracer: several fields with the same name arrive combined with
/// ", " (so a duplicated `traceparent` no longer parses, and `tracestate` lists join).
struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard let name = HTTPField.Name(key) else { return nil }
        let values = carrier[values: name]
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}

struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPFields) {
        guard let name = HTTPField.Name(key) else { return }
        carrier[name] = value
    }
}
