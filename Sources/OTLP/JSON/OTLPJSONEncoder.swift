/// Writes export requests as OTLP/JSON, for clients such as the load generator and tests.
///
/// The OTLP/JSON rules, as `OTLPJSONDecoder` reads them: lowerCamelCase keys; trace and span
/// ids as lower-case hex; 64-bit integers (timestamps, `intValue`) as decimal strings; enums
/// (`kind`, `status.code`, `severityNumber`) as integers; NaN and infinities as the strings
/// "NaN", "Infinity", "-Infinity"; fields at their default value left out.
public enum OTLPJSONEncoder {
    public static func encode(_ request: ExportTraceServiceRequest) -> [UInt8] {
        var writer = JSONWriter(capacity: request.spanCount * 1024 + 256)
        writer.beginObject()
        writer.key("resourceSpans")
        writer.beginArray()
        for resourceSpans in request.resourceSpans {
            writer.beginObject()
            writer.key("resource"); writer.otlp(resourceSpans.resource, schemaUrl: "")
            writer.key("scopeSpans")
            writer.beginArray()
            for scopeSpans in resourceSpans.scopeSpans {
                writer.beginObject()
                writer.key("scope"); writer.otlp(scopeSpans.scope, schemaUrl: "")
                writer.key("spans")
                writer.beginArray()
                for span in scopeSpans.spans { writer.otlp(span) }
                writer.endArray()
                writer.schemaUrl(scopeSpans.schemaUrl)
                writer.endObject()
            }
            writer.endArray()
            writer.schemaUrl(resourceSpans.schemaUrl)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    public static func encode(_ request: ExportLogsServiceRequest) -> [UInt8] {
        var writer = JSONWriter(capacity: request.logRecordCount * 768 + 256)
        writer.beginObject()
        writer.key("resourceLogs")
        writer.beginArray()
        for resourceLogs in request.resourceLogs {
            writer.beginObject()
            writer.key("resource"); writer.otlp(resourceLogs.resource, schemaUrl: "")
            writer.key("scopeLogs")
            writer.beginArray()
            for scopeLogs in resourceLogs.scopeLogs {
                writer.beginObject()
                writer.key("scope"); writer.otlp(scopeLogs.scope, schemaUrl: "")
                writer.key("logRecords")
                writer.beginArray()
                for record in scopeLogs.logRecords { writer.otlp(record) }
                writer.endArray()
                writer.schemaUrl(scopeLogs.schemaUrl)
                writer.endObject()
            }
            writer.endArray()
            writer.schemaUrl(resourceLogs.schemaUrl)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }
}

extension JSONWriter {
    fileprivate mutating func schemaUrl(_ url: String) {
        if !url.isEmpty { key("schemaUrl"); string(url) }
    }

    fileprivate mutating func timestamp(_ name: String, _ nanoseconds: UInt64) {
        if nanoseconds != 0 { key(name); string(String(nanoseconds)) }
    }

    fileprivate mutating func count(_ name: String, _ value: UInt32) {
        if value != 0 { key(name); uint(UInt64(value)) }
    }

    fileprivate mutating func otlp(_ span: Span) {
        beginObject()
        key("traceId"); string(span.traceId.hex)
        key("spanId"); string(span.spanId.hex)
        if !span.traceState.isEmpty { key("traceState"); string(span.traceState) }
        if let parent = span.parentSpanId { key("parentSpanId"); string(parent.hex) }
        count("flags", span.flags)
        if !span.name.isEmpty { key("name"); string(span.name) }
        if span.kind != .unspecified { key("kind"); int(Int64(span.kind.rawValue)) }
        timestamp("startTimeUnixNano", span.startTimeUnixNano)
        timestamp("endTimeUnixNano", span.endTimeUnixNano)
        if !span.attributes.isEmpty { key("attributes"); otlp(span.attributes) }
        count("droppedAttributesCount", span.droppedAttributesCount)
        if !span.events.isEmpty { key("events"); otlp(span.events) }
        count("droppedEventsCount", span.droppedEventsCount)
        if !span.links.isEmpty { key("links"); otlp(span.links) }
        count("droppedLinksCount", span.droppedLinksCount)
        if span.status != SpanStatus() {
            key("status")
            beginObject()
            if !span.status.message.isEmpty { key("message"); string(span.status.message) }
            if span.status.code != .unset { key("code"); int(Int64(span.status.code.rawValue)) }
            endObject()
        }
        endObject()
    }

    fileprivate mutating func otlp(_ record: LogRecord) {
        beginObject()
        timestamp("timeUnixNano", record.timeUnixNano)
        timestamp("observedTimeUnixNano", record.observedTimeUnixNano)
        if record.severityNumber != .unspecified { key("severityNumber"); int(Int64(record.severityNumber.rawValue)) }
        if !record.severityText.isEmpty { key("severityText"); string(record.severityText) }
        if let body = record.body { key("body"); otlp(body) }
        if !record.attributes.isEmpty { key("attributes"); otlp(record.attributes) }
        count("droppedAttributesCount", record.droppedAttributesCount)
        count("flags", record.flags)
        if let traceId = record.traceId { key("traceId"); string(traceId.hex) }
        if let spanId = record.spanId { key("spanId"); string(spanId.hex) }
        if !record.eventName.isEmpty { key("eventName"); string(record.eventName) }
        endObject()
    }
}
