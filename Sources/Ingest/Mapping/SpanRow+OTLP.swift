import OTLP
import Store

/// The parts of a `ResourceSpans`/`ScopeSpans` shared by their spans, encoded once.
struct SpanSource {
    var serviceName: String
    var resourceJSON: String
    var scopeJSON: String
}

extension ExportTraceServiceRequest {
    /// The rows this request writes: one span row per span, one trace row per trace.
    public func writeBatch() -> WriteBatch {
        var batch = WriteBatch()
        batch.spans.reserveCapacity(spanCount)
        var traces: [TraceRow] = []
        for resourceSpans in resourceSpans {
            var resourceJSON = JSONWriter()
            resourceJSON.otlp(resourceSpans.resource, schemaUrl: resourceSpans.schemaUrl)
            let serviceName = AttributeSources.serviceName(of: resourceSpans.resource)
            for scopeSpans in resourceSpans.scopeSpans {
                var scopeJSON = JSONWriter()
                scopeJSON.otlp(scopeSpans.scope, schemaUrl: scopeSpans.schemaUrl)
                let source = SpanSource(serviceName: serviceName, resourceJSON: resourceJSON.text, scopeJSON: scopeJSON.text)
                for span in scopeSpans.spans {
                    let row = SpanRow(span: span, source: source)
                    traces.append(TraceRow(span: span, row: row))
                    batch.spans.append(row)
                }
            }
        }
        batch.traces = TraceRow.merging(traces)
        return batch
    }
}

extension SpanRow {
    init(span: Span, source: SpanSource) {
        var tags = JSONWriter()
        tags.flat(span.attributes)
        var logs = JSONWriter()
        logs.beginArray()
        for event in span.events {
            logs.beginObject()
            logs.key("timestamp"); logs.string(Timestamp.iso8601(unixNano: Int64(clamping: event.timeUnixNano)))
            logs.key("name"); logs.string(event.name)
            logs.key("attributes"); logs.flat(event.attributes)
            logs.endObject()
        }
        logs.endArray()
        var attributes = JSONWriter()
        attributes.otlp(span.attributes)
        var events = JSONWriter()
        events.otlp(span.events)
        var links = JSONWriter()
        links.otlp(span.links)

        let isError = span.status.code == .error
        self.init(
            traceID: span.traceId.hex,
            spanID: span.spanId.hex,
            parentSpanID: span.parentSpanId?.hex,
            operationName: span.name,
            serviceName: source.serviceName,
            startTimeUnixNano: Int64(clamping: span.startTimeUnixNano),
            endTimeUnixNano: Int64(clamping: span.endTimeUnixNano),
            status: isError ? "error" : "completed",
            errorMessage: Self.errorMessage(of: span),
            tags: tags.text,
            logs: logs.text,
            kind: span.kind.rawValue,
            traceState: span.traceState.isEmpty ? nil : span.traceState,
            flags: Int64(span.flags),
            statusCode: span.status.code.rawValue,
            attributes: attributes.text,
            events: events.text,
            links: links.text,
            resource: source.resourceJSON,
            scope: source.scopeJSON,
            droppedAttributesCount: Int64(span.droppedAttributesCount),
            droppedEventsCount: Int64(span.droppedEventsCount),
            droppedLinksCount: Int64(span.droppedLinksCount),
            attributesInTags: AttributesInTags(span.attributes),
            eventsInLogs: EventsInLogs(span.events)
        )
    }
}

extension SpanRow {
    /// The status message; for an error span without one, what its first `exception` event
    /// says (`type: message`, or whichever of the two it has), as SDKs that record an exception
    /// and set only the error code leave it.
    static func errorMessage(of span: Span) -> String? {
        if !span.status.message.isEmpty { return span.status.message }
        guard span.status.code == .error,
              let exception = span.events.first(where: { $0.name == "exception" }) else { return nil }
        let type = exception.attributes[key: "exception.type"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
        let message = exception.attributes[key: "exception.message"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
        switch (type, message) {
        case let (type?, message?): return "\(type): \(message)"
        case let (type?, nil): return type
        case let (nil, message?): return message
        case (nil, nil): return nil
        }
    }
}

extension TraceRow {
    /// What one span tells about its trace.
    init(span: Span, row: SpanRow) {
        let attributes = span.attributes
        let context = TraceContext(
            fromRoot: span.parentSpanId == nil,
            sourceStartUnixNano: row.startTimeUnixNano,
            entryPoint: AttributeSources.entryPoint(of: attributes),
            endpoint: AttributeSources.first(AttributeSources.endpoint, in: attributes)?.value ?? span.name,
            method: AttributeSources.first(AttributeSources.method, in: attributes)?.value,
            sessionID: AttributeSources.first(AttributeSources.session, in: attributes)?.value,
            userEmail: AttributeSources.first(AttributeSources.user, in: attributes)?.value,
            department: AttributeSources.first(AttributeSources.department, in: attributes)?.value,
            serviceName: row.serviceName,
            rootSpanName: span.name,
            tags: row.tags
        )
        self.init(
            traceID: row.traceID,
            startTimeUnixNano: row.startTimeUnixNano,
            endTimeUnixNano: row.endTimeUnixNano,
            status: row.status,
            errorMessage: row.status == "error" ? row.errorMessage : nil,
            context: context
        )
    }
}
