import Foundation
import SwiftProtobuf

/// Decodes OTLP/HTTP protobuf export requests (`application/x-protobuf`) into the same model
/// as `OTLPJSONDecoder`, with the same rules.
///
/// As in JSON, an error inside one span or log record rejects that item only (reported in
/// `DecodedExport.rejected`, with the path spelled the OTLP/JSON way); an error outside items,
/// or bytes that are not a valid protobuf message, reject the whole payload. So does a known
/// field that arrives with the wrong wire type (as in the OpenTelemetry Collector).
///
/// Two engines give the same results: `.direct` (the default) reads the bytes straight into the
/// model in one pass (`ProtobufModelReader`); `.generated` parses them with the swift-protobuf
/// runtime into the messages generated from `proto/` (`Generated/`, by `script/generate-protos`)
/// and converts those (`ProtobufConverter`). The generated path is the reference the direct one
/// is tested against; the direct one avoids the intermediate messages and is several times faster.
public struct OTLPProtobufDecoder: Sendable {
    public enum Engine: Sendable {
        case direct
        case generated
    }

    /// How deeply arrays and maps may nest inside one attribute value or log body.
    public var maxValueDepth: Int
    /// How many attributes one resource, scope, span, event, link or log record may carry.
    public var maxAttributes: Int
    public var engine: Engine

    public init(maxValueDepth: Int = 32, maxAttributes: Int = 4096, engine: Engine = .direct) {
        self.maxValueDepth = maxValueDepth
        self.maxAttributes = maxAttributes
        self.engine = engine
    }

    public func decodeTraces(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportTraceServiceRequest> {
        switch engine {
        case .direct:
            return try read(data) { reader, wire throws(ProtobufFieldError) in try reader.traces(&wire) }
        case .generated:
            let message = try parse(PBExportTraceServiceRequest.self, from: data)
            var converter = ProtobufConverter(maxValueDepth: maxValueDepth, maxAttributes: maxAttributes)
            let request = try converter.traces(message)
            return DecodedExport(request: request, rejected: converter.rejected)
        }
    }

    public func decodeLogs(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportLogsServiceRequest> {
        switch engine {
        case .direct:
            return try read(data) { reader, wire throws(ProtobufFieldError) in try reader.logs(&wire) }
        case .generated:
            let message = try parse(PBExportLogsServiceRequest.self, from: data)
            var converter = ProtobufConverter(maxValueDepth: maxValueDepth, maxAttributes: maxAttributes)
            let request = try converter.logs(message)
            return DecodedExport(request: request, rejected: converter.rejected)
        }
    }

    /// Metrics are always read through the generated messages (`engine` applies to traces
    /// and logs); an invalid metric is rejected alone, with its data points.
    public func decodeMetrics(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportMetricsServiceRequest> {
        let message = try parse(PBExportMetricsServiceRequest.self, from: data)
        var converter = ProtobufConverter(maxValueDepth: maxValueDepth, maxAttributes: maxAttributes)
        let request = try converter.metrics(message)
        return DecodedExport(request: request, rejected: converter.rejected)
    }

    private func read<Request: Sendable>(
        _ data: Data, _ body: (inout ProtobufModelReader, inout ProtobufWireReader) throws(ProtobufFieldError) -> Request
    ) throws(OTLPDecodingError) -> DecodedExport<Request> {
        let result = data.withUnsafeBytes { raw -> Result<DecodedExport<Request>, ProtobufFieldError> in
            var wire = ProtobufWireReader(bytes: raw.bindMemory(to: UInt8.self), maxDepth: messageDepthLimit)
            var reader = ProtobufModelReader(maxValueDepth: maxValueDepth, maxAttributes: maxAttributes)
            do throws(ProtobufFieldError) {
                let request = try body(&reader, &wire)
                return .success(DecodedExport(request: request, rejected: reader.rejected))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let decoded): return decoded
        case .failure(let error): throw OTLPDecodingError(error)
        }
    }

    /// How deeply messages may nest on the wire: the five levels down to an attribute, plus
    /// up to three per nested value (`AnyValue` → `KeyValueList` → `KeyValue` → `AnyValue`).
    /// Beyond it the whole body is refused before any deeper recursion.
    var messageDepthLimit: Int { 8 + 3 * (maxValueDepth + 1) }

    private func parse<Message: SwiftProtobuf.Message>(_ type: Message.Type, from data: Data) throws(OTLPDecodingError) -> Message {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = messageDepthLimit
        // Unknown fields are kept so `ProtobufConverter.checkWire` can find known fields
        // that arrived with the wrong wire type.
        do {
            return try Message(serializedBytes: data, options: options)
        } catch let error as BinaryDecodingError {
            throw OTLPDecodingError(path: "", message: "body is not a valid OTLP protobuf message: " + Self.describe(error))
        } catch {
            throw OTLPDecodingError(path: "", message: "body is not a valid OTLP protobuf message")
        }
    }

    static func describe(_ error: BinaryDecodingError) -> String {
        switch error {
        case .truncated: "a field runs past the end of the body (truncated)"
        case .invalidUTF8: "a string field is not valid UTF-8"
        case .malformedProtobuf: "malformed field (bad tag, wire type or length)"
        case .messageDepthLimit: "messages nest too deeply"
        case .trailingGarbage: "unexpected bytes after the message"
        default: "\(error)"
        }
    }
}
