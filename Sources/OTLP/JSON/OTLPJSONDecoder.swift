import Foundation

/// Decodes OTLP/JSON export requests (`ExportTraceServiceRequest`, `ExportLogsServiceRequest`).
///
/// Follows the OTLP/JSON rules: lowerCamelCase keys; ids in hex (either case) or, as some
/// exporters wrongly send them, base64; 64-bit integers as strings or numbers; "NaN" and
/// "Infinity" doubles; enums as numbers or names; unknown fields ignored.
///
/// An error inside one span or log record rejects that item only (reported in
/// `DecodedExport.rejected`); an error outside items rejects the whole payload.
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
        try decode(ExportTraceServiceRequest.self, from: data)
    }

    public func decodeLogs(from data: Data) throws(OTLPDecodingError) -> DecodedExport<ExportLogsServiceRequest> {
        try decode(ExportLogsServiceRequest.self, from: data)
    }

    private func decode<Request: Decodable & Sendable>(_ type: Request.Type, from data: Data) throws(OTLPDecodingError) -> DecodedExport<Request> {
        let context = DecodingContext(limits: self)
        let decoder = JSONDecoder()
        decoder.userInfo[.otlpDecodingContext] = context
        do {
            let request = try decoder.decode(Request.self, from: data)
            return DecodedExport(request: request, rejected: context.rejected)
        } catch let error as DecodingError {
            throw OTLPDecodingError(error)
        } catch {
            throw OTLPDecodingError(path: "", message: "body is not valid OTLP/JSON")
        }
    }
}

/// Per-decode state reachable from every `init(from:)`: limits and the rejected items.
final class DecodingContext: @unchecked Sendable {
    // Only touched by the one thread running the decode.
    let maxValueDepth: Int
    let maxAttributes: Int
    var rejected: [OTLPDecodingError] = []
    /// Current nesting of array and map values.
    var depth = 0

    init(limits: OTLPJSONDecoder) {
        self.maxValueDepth = limits.maxValueDepth
        self.maxAttributes = limits.maxAttributes
    }
}

extension CodingUserInfoKey {
    static let otlpDecodingContext = CodingUserInfoKey(rawValue: "sightline.otlp.decodingContext")!
}

extension Decoder {
    var otlpContext: DecodingContext {
        // Always set by OTLPJSONDecoder; a plain JSONDecoder gets the default limits.
        userInfo[.otlpDecodingContext] as? DecodingContext ?? DecodingContext(limits: OTLPJSONDecoder())
    }
}

/// Decodes one item (span, log record); a failure is recorded as a rejection instead of
/// failing the whole request.
struct Attempt<Item: Decodable>: Decodable {
    let item: Item?

    init(from decoder: any Decoder) throws {
        do {
            item = try Item(from: decoder)
        } catch let error as DecodingError {
            decoder.otlpContext.rejected.append(OTLPDecodingError(error))
            item = nil
        }
    }
}

extension KeyedDecodingContainer {
    /// Decodes an array of items, keeping the ones that decode and recording the rest.
    func decodeItems<Item: Decodable>(_ type: Item.Type, forKey key: Key) throws -> [Item] {
        guard let attempts = try decodeIfPresent([Attempt<Item>].self, forKey: key) else { return [] }
        return attempts.compactMap(\.item)
    }
}

extension OTLPDecodingError {
    init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            self.init(path: Self.path(context.codingPath), message: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(path: Self.path(context.codingPath), message: "expected \(Self.describe(type)), found null")
        case .keyNotFound(let key, let context):
            self.init(path: Self.path(context.codingPath + [key]), message: "required field is missing")
        case .dataCorrupted(let context):
            // A parse failure has no coding path; Foundation on Linux attaches no underlying error.
            if context.codingPath.isEmpty {
                self.init(path: "", message: "body is not valid JSON")
            } else {
                self.init(path: Self.path(context.codingPath), message: context.debugDescription)
            }
        @unknown default:
            self.init(path: "", message: "body is not valid OTLP/JSON")
        }
    }

    /// `resourceSpans[0].scopeSpans[1].spans[3].traceId` from a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                if !path.isEmpty { path += "." }
                path += key.stringValue
            }
        }
        return path
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is UInt64.Type, is Int64.Type, is UInt32.Type, is Int32.Type, is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            return "an object"
        }
    }
}
