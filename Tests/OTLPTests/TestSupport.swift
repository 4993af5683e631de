import Foundation
import OTLP

let validTraceHex = "972a1b8b1aed1d623d5636c5bf0275d1"
let validSpanHex = "7384601d4d6c4480"

/// Decodes an OTLP/JSON traces payload given as text.
func decodeTraces(_ json: String, decoder: OTLPJSONDecoder = .init()) throws(OTLPDecodingError) -> DecodedExport<ExportTraceServiceRequest> {
    try decoder.decodeTraces(from: Data(json.utf8))
}

/// Decodes an OTLP/JSON logs payload given as text.
func decodeLogs(_ json: String, decoder: OTLPJSONDecoder = .init()) throws(OTLPDecodingError) -> DecodedExport<ExportLogsServiceRequest> {
    try decoder.decodeLogs(from: Data(json.utf8))
}

/// The error a whole traces payload fails with, or `nil` when it decodes.
func tracesFailure(_ json: String) -> OTLPDecodingError? {
    do {
        _ = try decodeTraces(json)
        return nil
    } catch {
        return error
    }
}

/// The error a whole logs payload fails with, or `nil` when it decodes.
func logsFailure(_ json: String) -> OTLPDecodingError? {
    do {
        _ = try decodeLogs(json)
        return nil
    } catch {
        return error
    }
}

/// One span object's JSON: valid ids plus `fields` (raw `"key": value` members, comma separated).
/// Pass `ids: false` to leave `traceId`/`spanId` to `fields`.
func spanJSON(_ fields: String = "", name: String = "span", ids: Bool = true) -> String {
    var members: [String] = []
    if ids { members.append(#""traceId":"\#(validTraceHex)","spanId":"\#(validSpanHex)""#) }
    members.append(#""name":"\#(name)""#)
    if !fields.isEmpty { members.append(fields) }
    return "{" + members.joined(separator: ",") + "}"
}

/// A traces payload holding `spans` (JSON objects) in one resource and one scope.
func tracesJSON(_ spans: [String]) -> String {
    #"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"s"},"spans":["# + spans.joined(separator: ",") + "]}]}]}"
}

/// A logs payload holding `records` (JSON objects) in one resource and one scope.
func logsJSON(_ records: [String]) -> String {
    #"{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{"name":"s"},"logRecords":["# + records.joined(separator: ",") + "]}]}]}"
}

/// Decodes one span built from `fields`, failing if it was rejected.
func decodeOneSpan(_ fields: String, ids: Bool = true) throws -> Span {
    let decoded = try decodeTraces(tracesJSON([spanJSON(fields, ids: ids)]))
    guard decoded.rejected.isEmpty else { throw decoded.rejected[0] }
    let spans = decoded.request.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans)
    guard spans.count == 1 else { throw OTLPDecodingError(path: "", message: "expected one span, got \(spans.count)") }
    return spans[0]
}

/// Decodes one attribute value given as its JSON, e.g. `{"intValue":"5"}`.
func decodeValue(_ valueJSON: String) throws -> AnyValue {
    let span = try decodeOneSpan(#""attributes":[{"key":"k","value":\#(valueJSON)}]"#)
    guard span.attributes.count == 1 else { throw OTLPDecodingError(path: "", message: "expected one attribute") }
    return span.attributes[0].value
}

/// Every span of a request, in order.
func allSpans(_ request: ExportTraceServiceRequest) -> [Span] {
    request.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans)
}

/// Every log record of a request, in order.
func allRecords(_ request: ExportLogsServiceRequest) -> [LogRecord] {
    request.resourceLogs.flatMap(\.scopeLogs).flatMap(\.logRecords)
}

/// NaN is not equal to itself, so values holding it are compared after replacing it with a marker.
func nanMarked(_ value: AnyValue) -> AnyValue {
    switch value {
    case .double(let number) where number.isNaN: return .string("<NaN>")
    case .array(let values): return .array(values.map(nanMarked))
    case .kvlist(let values): return .kvlist(nanMarked(values))
    default: return value
    }
}

func nanMarked(_ attributes: [KeyValue]) -> [KeyValue] {
    attributes.map { KeyValue(key: $0.key, value: nanMarked($0.value)) }
}

func kv(_ key: String, _ value: AnyValue) -> KeyValue { KeyValue(key: key, value: value) }
