import Foundation

/// Scalar rules of OTLP/JSON shared by every message.
extension KeyedDecodingContainer {
    func corrupted(_ key: Key, _ message: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: message))
    }

    func string(_ key: Key) throws -> String {
        try decodeIfPresent(String.self, forKey: key) ?? ""
    }

    /// A uint64/fixed64 field: a decimal string or a number.
    func uint64(_ key: Key) throws -> UInt64 {
        do {
            guard let text = try decodeIfPresent(String.self, forKey: key) else { return 0 }
            guard let value = UInt64(text) else {
                throw corrupted(key, "expected an unsigned 64-bit integer, got \(Self.quoted(text))")
            }
            return value
        } catch DecodingError.typeMismatch {
            return try decodeIfPresent(UInt64.self, forKey: key) ?? 0
        }
    }

    /// A nanosecond timestamp that must fit the store's signed 64-bit columns.
    func timestamp(_ key: Key) throws -> UInt64 {
        let value = try uint64(key)
        guard value <= UInt64(Int64.max) else { throw corrupted(key, "timestamp out of range") }
        return value
    }

    /// An int64 field: a decimal string or a number.
    func int64(_ key: Key) throws -> Int64 {
        do {
            guard let text = try decodeIfPresent(String.self, forKey: key) else { return 0 }
            guard let value = Int64(text) else {
                throw corrupted(key, "expected a 64-bit integer, got \(Self.quoted(text))")
            }
            return value
        } catch DecodingError.typeMismatch {
            return try decodeIfPresent(Int64.self, forKey: key) ?? 0
        }
    }

    /// A uint32/fixed32 field: a number or a decimal string.
    func uint32(_ key: Key) throws -> UInt32 {
        do {
            return try decodeIfPresent(UInt32.self, forKey: key) ?? 0
        } catch DecodingError.typeMismatch {
            let text = try decode(String.self, forKey: key)
            guard let value = UInt32(text) else {
                throw corrupted(key, "expected an unsigned 32-bit integer, got \(Self.quoted(text))")
            }
            return value
        }
    }

    /// A double: a number, or a string holding a number, "NaN", "Infinity" or "-Infinity".
    func double(_ key: Key) throws -> Double {
        do {
            return try decodeIfPresent(Double.self, forKey: key) ?? 0
        } catch DecodingError.typeMismatch {
            let text = try decode(String.self, forKey: key)
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let value = Double(text), value.isFinite else {
                    throw corrupted(key, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got \(Self.quoted(text))")
                }
                return value
            }
        }
    }

    /// An enum field: its number, or its name from `names` (index = number).
    func enumeration(_ key: Key, names: [String]) throws -> Int32 {
        do {
            return try decodeIfPresent(Int32.self, forKey: key) ?? 0
        } catch DecodingError.typeMismatch {
            let text = try decode(String.self, forKey: key)
            if let index = names.firstIndex(of: text) { return Int32(index) }
            if let number = Int32(text) { return number }
            throw corrupted(key, "unknown enum value \(Self.quoted(text))")
        }
    }

    /// A trace id: 32 hex digits (any case) or 24 base64 characters; `nil` when absent or empty.
    func traceID(_ key: Key) throws -> TraceID? {
        guard let text = try decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
        if let id = TraceID(hex: text) ?? (text.utf8.count == 24 ? Base64.decode(text).flatMap(TraceID.init(bytes:)) : nil) {
            return id
        }
        throw corrupted(key, "expected 32 hex digits, got \(Self.quoted(text))")
    }

    /// A span id: 16 hex digits (any case) or 12 base64 characters; `nil` when absent or empty.
    func spanID(_ key: Key) throws -> SpanID? {
        guard let text = try decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
        if let id = SpanID(hex: text) ?? (text.utf8.count == 12 ? Base64.decode(text).flatMap(SpanID.init(bytes:)) : nil) {
            return id
        }
        throw corrupted(key, "expected 16 hex digits, got \(Self.quoted(text))")
    }

    /// A trace id that must be present and not all zeros.
    func requiredTraceID(_ key: Key) throws -> TraceID {
        guard let id = try traceID(key) else { throw corrupted(key, "is required") }
        guard !id.isZero else { throw corrupted(key, "must not be all zeros") }
        return id
    }

    /// A span id that must be present and not all zeros.
    func requiredSpanID(_ key: Key) throws -> SpanID {
        guard let id = try spanID(key) else { throw corrupted(key, "is required") }
        guard !id.isZero else { throw corrupted(key, "must not be all zeros") }
        return id
    }

    func attributes(_ key: Key, limit: Int) throws -> [KeyValue] {
        guard let attributes = try decodeIfPresent([KeyValue].self, forKey: key) else { return [] }
        guard attributes.count <= limit else {
            throw corrupted(key, "\(attributes.count) attributes exceed the limit of \(limit)")
        }
        return attributes
    }

    static func quoted(_ text: String) -> String {
        let shown = text.count > 48 ? String(text.prefix(48)) + "…" : text
        return "\"\(shown)\""
    }
}

/// Standard and URL-safe base64, padding optional (proto3 JSON accepts both alphabets).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var normalised = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        let remainder = normalised.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { normalised += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: normalised).map(Array.init)
    }
}
