import Foundation

/// Decodes OTLP/JSON export requests (`ExportTraceServiceRequest`, `ExportLogsServiceRequest`,
/// `ExportMetricsServiceRequest`).
///
/// Follows the OTLP/JSON rules: lowerCamelCase keys; ids in hex (either case) or, as some
/// exporters wrongly send them, base64; 64-bit integers as strings or numbers; "NaN" and
/// "Infinity" doubles; enums as numbers or names; unknown fields ignored.
///
/// An error inside one span or log record rejects that item only (reported in
/// `DecodedExport.rejected`); an error outside items rejects the whole payload, and a body
/// that is not JSON is rejected as such.
///
/// The text is read in one pass straight into the wire model, without an intermediate tree.
public struct OTLPJSONDecoder: Sendable {
    /// How deeply arrays and maps may nest inside one attribute value or log body.
    public var maxValueDepth: Int
    /// How many attributes one resource, scope, span, event, link or log record may carry.
    public var maxAttributes: Int

    public init(maxValueDepth: Int = 32, maxAttributes: Int = 4096) {
        self.maxValueDepth = maxValueDepth
        self.maxAttributes = maxAttributes
    }

    public func decodeTraces(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportTraceServiceRequest> {
        try decode(data, ExportTraceServiceRequest.init(json:))
    }

    public func decodeLogs(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportLogsServiceRequest> {
        try decode(data, ExportLogsServiceRequest.init(json:))
    }

    /// An invalid metric (the item rejected alone) is left out with its data points.
    public func decodeMetrics(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportMetricsServiceRequest> {
        try decode(data, ExportMetricsServiceRequest.init(json:))
    }

    private func decode<Request: Sendable>(
        _ data: Data, _ read: (inout OTLPJSONReader) throws(JSONReadError) -> Request
    ) throws(OTLPDecodingError) -> DecodedExport<Request> {
        let result = data.withUnsafeBytes { raw -> Result<DecodedExport<Request>, OTLPDecodingError> in
            var reader = OTLPJSONReader(bytes: raw.assumingMemoryBound(to: UInt8.self), limits: self)
            do throws(JSONReadError) {
                let request = try reader.document(read)
                return .success(DecodedExport(request: request, rejected: reader.rejected))
            } catch {
                switch error {
                case .syntax: return .failure(OTLPDecodingError(path: "", message: "body is not valid JSON"))
                case .invalid(let invalid): return .failure(OTLPDecodingError(path: invalid.path(), message: invalid.message))
                }
            }
        }
        return try result.get()
    }
}
