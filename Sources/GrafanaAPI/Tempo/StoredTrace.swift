import Foundation
import OTLP
import Store

/// A stored trace as OTLP again: spans grouped back into their resource and scope (kept as
/// OTLP/JSON beside each span, docs/grafana.md), read with the project's OTLP/JSON decoder, so
/// the trace read back equals the one sent, up to ordering.
enum StoredTrace {
    static func request(from stored: [StoredSpan]) throws -> ExportTraceServiceRequest {
        // Resource and scope texts, in first-seen order, each with its spans.
        var resources: [String] = []
        var scopes: [String: [String]] = [:]
        var spans: [String: [String]] = [:]
        for span in stored {
            let resource = span.resource
            let scope = span.scope
            if scopes[resource] == nil {
                resources.append(resource)
                scopes[resource] = []
            }
            let key = resource + "\u{0}" + scope
            if spans[key] == nil {
                scopes[resource]!.append(scope)
                spans[key] = []
            }
            spans[key]!.append(spanJSON(span))
        }
        var json = "{\"resourceSpans\":["
        for (resourceIndex, resource) in resources.enumerated() {
            if resourceIndex > 0 { json += "," }
            json += "{\"resource\":\(resource),\"scopeSpans\":["
            for (scopeIndex, scope) in scopes[resource]!.enumerated() {
                if scopeIndex > 0 { json += "," }
                json += "{\"scope\":\(scope),\"spans\":[\(spans[resource + "\u{0}" + scope]!.joined(separator: ","))]"
                if let url = schemaURL(scope) { json += ",\"schemaUrl\":" + quoted(url) }
                json += "}"
            }
            json += "]"
            if let url = schemaURL(resource) { json += ",\"schemaUrl\":" + quoted(url) }
            json += "}"
        }
        json += "]}"
        let decoded = try OTLPJSONDecoder().decodeTraces(from: Data(json.utf8))
        return decoded.request
    }

    /// The `schemaUrl` the mapping keeps inside the stored resource and scope objects.
    static func schemaURL(_ json: String) -> String? {
        guard json.contains("\"schemaUrl\""),
              let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let url = object["schemaUrl"] as? String, !url.isEmpty else { return nil }
        return url
    }

    static func quoted(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return writer.text
    }

    static func spanJSON(_ span: StoredSpan) -> String {
        var body = JSONWriter(capacity: 1024)
        body.beginObject()
        body.key("traceId"); body.string(span.traceID)
        body.key("spanId"); body.string(span.spanID)
        if let parent = span.parentSpanID, !parent.isEmpty { body.key("parentSpanId"); body.string(parent) }
        if let state = span.traceState, !state.isEmpty { body.key("traceState"); body.string(state) }
        if span.flags != 0 { body.key("flags"); body.int(span.flags) }
        body.key("name"); body.string(span.name)
        body.key("kind"); body.int(span.kind)
        body.key("startTimeUnixNano"); body.string(String(span.startTimeUnixNano))
        body.key("endTimeUnixNano"); body.string(String(span.endTimeUnixNano))
        body.key("attributes"); body.rawValue(span.attributes.utf8)
        if span.droppedAttributesCount != 0 { body.key("droppedAttributesCount"); body.int(span.droppedAttributesCount) }
        body.key("events"); body.rawValue(span.events.utf8)
        if span.droppedEventsCount != 0 { body.key("droppedEventsCount"); body.int(span.droppedEventsCount) }
        body.key("links"); body.rawValue(span.links.utf8)
        if span.droppedLinksCount != 0 { body.key("droppedLinksCount"); body.int(span.droppedLinksCount) }
        body.key("status")
        body.beginObject()
        if span.statusCode != 0 { body.key("code"); body.int(span.statusCode) }
        if let message = span.statusMessage, !message.isEmpty { body.key("message"); body.string(message) }
        body.endObject()
        body.endObject()
        return body.text
    }

    /// `tempopb.Trace` bytes: field 1 (`batches`, repeated ResourceSpans) is field 1 of
    /// `ExportTraceServiceRequest` (`resourceSpans`) too, so the export request's encoding is
    /// the trace's.
    static func tempoTrace(_ request: ExportTraceServiceRequest) -> [UInt8] {
        Array(OTLPProtobufEncoder.encode(request))
    }

    /// `tempopb.TraceByIDResponse` bytes: the trace as field 1 (length-delimited); no metrics.
    static func tempoTraceByIDResponse(_ request: ExportTraceServiceRequest) -> [UInt8] {
        let trace = tempoTrace(request)
        var bytes: [UInt8] = [0x0A]
        var length = UInt64(trace.count)
        while length >= 0x80 {
            bytes.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        bytes.append(UInt8(length))
        return bytes + trace
    }

    /// Tempo's JSON: `{"batches": [...]}` for `/api/traces/{id}`, `{"trace": {"resourceSpans":
    /// [...]}}` for `/api/v2/traces/{id}`; the ResourceSpans in OTLP/JSON.
    static func json(_ request: ExportTraceServiceRequest, v2: Bool) -> [UInt8] {
        let otlp = OTLPJSONEncoder.encode(request)
        let prefix = Array("{\"resourceSpans\":".utf8)
        if v2 { return Array("{\"trace\":".utf8) + otlp + Array(",\"status\":\"complete\"}".utf8) }
        guard otlp.starts(with: prefix) else { return otlp }
        return Array("{\"batches\":".utf8) + otlp.dropFirst(prefix.count)
    }
}
