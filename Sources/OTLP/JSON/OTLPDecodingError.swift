/// Why an OTLP payload, or one item in it, could not be decoded.
///
/// `path` names the offending field the way OTLP/JSON spells it, for example
/// `resourceSpans[0].scopeSpans[1].spans[3].traceId`.
public struct OTLPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A decoded export request together with the items (spans or log records) that were rejected.
///
/// Rejected items are left out of `request`; their neighbours are kept.
public struct DecodedExport<Request: Sendable>: Sendable {
    public var request: Request
    public var rejected: [OTLPDecodingError]

    public init(request: Request, rejected: [OTLPDecodingError] = []) {
        self.request = request
        self.rejected = rejected
    }
}
