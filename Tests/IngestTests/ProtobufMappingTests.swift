import CompressNIO
import Foundation
import Ingest
import NIOCore
import OTLP
import Store
import Testing

// OTLP/HTTP protobuf maps onto exactly the rows OTLP/JSON does: one mapping for both.

/// The two captures come from two runs of the same program: ids, timestamps and the service
/// instance differ, nothing else may. This renumbers ids in order of first appearance (so
/// parent/child and trace relations are kept), sets every present timestamp to 1, blanks
/// `service.instance.id` and marks NaN (which is not equal to itself).
struct Canonical {
    private var traces: [TraceID: UInt64] = [:]
    private var spans: [SpanID: UInt64] = [:]

    mutating func trace(_ id: TraceID) -> TraceID {
        if let known = traces[id] { return TraceID(high: 0, low: known) }
        traces[id] = UInt64(traces.count + 1)
        return TraceID(high: 0, low: UInt64(traces.count))
    }

    mutating func span(_ id: SpanID) -> SpanID {
        if let known = spans[id] { return SpanID(known) }
        spans[id] = UInt64(spans.count + 1)
        return SpanID(UInt64(spans.count))
    }

    static func time(_ nanos: UInt64) -> UInt64 { nanos == 0 ? 0 : 1 }

    static func resource(_ resource: Resource) -> Resource {
        var resource = resource
        resource.attributes = resource.attributes.map {
            $0.key == "service.instance.id" ? KeyValue(key: $0.key, value: .string("<instance>")) : $0
        }
        return resource
    }

    static func traces(_ request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
        var canonical = Canonical()
        var request = request
        for r in request.resourceSpans.indices {
            request.resourceSpans[r].resource = resource(request.resourceSpans[r].resource)
            for s in request.resourceSpans[r].scopeSpans.indices {
                for i in request.resourceSpans[r].scopeSpans[s].spans.indices {
                    var span = request.resourceSpans[r].scopeSpans[s].spans[i]
                    span.traceId = canonical.trace(span.traceId)
                    span.spanId = canonical.span(span.spanId)
                    span.parentSpanId = span.parentSpanId.map { canonical.span($0) }
                    span.startTimeUnixNano = time(span.startTimeUnixNano)
                    span.endTimeUnixNano = time(span.endTimeUnixNano)
                    span.attributes = nanMarked(span.attributes)
                    for e in span.events.indices { span.events[e].timeUnixNano = time(span.events[e].timeUnixNano) }
                    for l in span.links.indices {
                        span.links[l].traceId = canonical.trace(span.links[l].traceId)
                        span.links[l].spanId = canonical.span(span.links[l].spanId)
                    }
                    request.resourceSpans[r].scopeSpans[s].spans[i] = span
                }
            }
        }
        return request
    }

    static func logs(_ request: ExportLogsServiceRequest) -> ExportLogsServiceRequest {
        var canonical = Canonical()
        var request = request
        for r in request.resourceLogs.indices {
            request.resourceLogs[r].resource = resource(request.resourceLogs[r].resource)
            for s in request.resourceLogs[r].scopeLogs.indices {
                for i in request.resourceLogs[r].scopeLogs[s].logRecords.indices {
                    var record = request.resourceLogs[r].scopeLogs[s].logRecords[i]
                    record.traceId = record.traceId.map { canonical.trace($0) }
                    record.spanId = record.spanId.map { canonical.span($0) }
                    record.timeUnixNano = time(record.timeUnixNano)
                    record.observedTimeUnixNano = time(record.observedTimeUnixNano)
                    record.attributes = nanMarked(record.attributes)
                    record.body = record.body.map(nanMarked)
                    request.resourceLogs[r].scopeLogs[s].logRecords[i] = record
                }
            }
        }
        return request
    }
}


@Suite("Protobuf captures map to the JSON captures' rows")
struct ProtobufMappingTests {
    static let arrival: Int64 = 1_800_000_000_000_000_000

    /// A capture of the Python SDK's protobuf exporter, inflated when it is gzipped.
    func protobuf(_ name: String) throws -> Data {
        let data = try Fixtures.data("python-sdk/\(name)")
        guard name.hasSuffix(".gz") else { return data }
        var buffer = ByteBuffer(data: data)
        return Data(buffer: try buffer.decompress(with: .gzip(), maxSize: 1 << 20))
    }

    @Test(arguments: ["python-proto-traces.bin", "python-proto-traces.bin.gz"])
    func traceRows(_ capture: String) throws {
        let proto = try OTLPProtobufDecoder().decodeTraces(from: protobuf(capture))
        let json = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-json-traces.json"))
        #expect(proto.rejected.isEmpty)
        #expect(proto.request.spanCount == 9)
        let protoRows = Canonical.traces(proto.request).writeBatch()
        let jsonRows = Canonical.traces(json.request).writeBatch()
        #expect(protoRows.spans.count == 9)
        #expect(protoRows.traces.count == 2)
        #expect(protoRows.spans == jsonRows.spans)
        #expect(protoRows.traces == jsonRows.traces)
    }

    @Test(arguments: ["python-proto-logs.bin", "python-proto-logs.bin.gz"])
    func logRows(_ capture: String) throws {
        let proto = try OTLPProtobufDecoder().decodeLogs(from: protobuf(capture))
        let json = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("python-sdk/python-json-logs.json"))
        #expect(proto.rejected.isEmpty)
        let protoRows = Canonical.logs(proto.request).writeBatch(arrivalUnixNano: Self.arrival).logs
        let jsonRows = Canonical.logs(json.request).writeBatch(arrivalUnixNano: Self.arrival).logs
        #expect(protoRows.count == 8)
        #expect(protoRows == jsonRows)
        #expect(protoRows.map(\.level) == jsonRows.map(\.level))
    }

    @Test func capturesDifferOnlyInIdsTimesAndInstance() throws {
        // Guard against a canonical form that hides real differences: the raw requests differ,
        // and the canonical form keeps attributes, names and structure.
        let proto = try OTLPProtobufDecoder().decodeTraces(from: protobuf("python-proto-traces.bin")).request
        let json = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-json-traces.json")).request
        #expect(proto != json)
        let canonical = Canonical.traces(proto)
        let spans = canonical.resourceSpans[0].scopeSpans[0].spans
        #expect(spans.map(\.name) == proto.resourceSpans[0].scopeSpans[0].spans.map(\.name))
        #expect(spans.first { $0.name == "llm_generate" }?.attributes[key: "gen_ai.usage.input_tokens"] == .int(1200))
        #expect(Set(spans.map(\.traceId)).count == 2)
    }
}
