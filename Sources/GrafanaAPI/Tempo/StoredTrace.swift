import Foundation
import OTLP
import Store

/// A stored trace as OTLP again: span rows grouped back into their resource and scope (kept
/// as OTLP/JSON beside each span, DESIGN §4), read with the project's OTLP/JSON decoder, so
/// the trace read back equals the one sent, up to ordering.
enum StoredTrace {
    /// The columns `request(from:)` reads.
    static let columns = """
        s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.flags, s.operation_name, s.span_kind, \
        s.start_time_unix_nano, s.end_time_unix_nano, s.attributes, s.dropped_attributes_count, s.events, \
        s.dropped_events_count, s.links, s.dropped_links_count, s.status_code, s.error_message, s.resource, s.scope
        """

    static func request(from rows: [ResultRow]) throws -> ExportTraceServiceRequest {
        // Resource and scope texts, in first-seen order, each with its spans.
        var resources: [String] = []
        var scopes: [String: [String]] = [:]
        var spans: [String: [String]] = [:]
        for row in rows {
            let resource = row["resource"].text ?? "{}"
            let scope = row["scope"].text ?? "{}"
            if scopes[resource] == nil {
                resources.append(resource)
                scopes[resource] = []
            }
            let key = resource + "\u{0}" + scope
            if spans[key] == nil {
                scopes[resource]!.append(scope)
                spans[key] = []
            }
            spans[key]!.append(spanJSON(row))
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

    static func spanJSON(_ row: ResultRow) -> String {
        var body = JSONWriter(capacity: 1024)
        body.beginObject()
        body.key("traceId"); body.string(row["trace_id"].text ?? "")
        body.key("spanId"); body.string(row["span_id"].text ?? "")
        if let parent = row["parent_span_id"].text, !parent.isEmpty { body.key("parentSpanId"); body.string(parent) }
        if let state = row["trace_state"].text, !state.isEmpty { body.key("traceState"); body.string(state) }
        if let flags = row["flags"].int, flags != 0 { body.key("flags"); body.int(flags) }
        body.key("name"); body.string(row["operation_name"].text ?? "")
        body.key("kind"); body.int(row["span_kind"].int ?? 0)
        body.key("startTimeUnixNano"); body.string(String(row["start_time_unix_nano"].int ?? 0))
        body.key("endTimeUnixNano"); body.string(String(row["end_time_unix_nano"].int ?? 0))
        body.key("attributes"); body.rawValue((row["attributes"].text ?? "[]").utf8)
        if let count = row["dropped_attributes_count"].int, count != 0 { body.key("droppedAttributesCount"); body.int(count) }
        body.key("events"); body.rawValue((row["events"].text ?? "[]").utf8)
        if let count = row["dropped_events_count"].int, count != 0 { body.key("droppedEventsCount"); body.int(count) }
        body.key("links"); body.rawValue((row["links"].text ?? "[]").utf8)
        if let count = row["dropped_links_count"].int, count != 0 { body.key("droppedLinksCount"); body.int(count) }
        body.key("status")
        body.beginObject()
        if let code = row["status_code"].int, code != 0 { body.key("code"); body.int(code) }
        if let message = row["error_message"].text, !message.isEmpty { body.key("message"); body.string(message) }
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
