/// `opentelemetry.proto.common.v1.AnyValue`: the value of an attribute or a log body.
public enum AnyValue: Sendable, Hashable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case array([AnyValue])
    case kvlist([KeyValue])
    case bytes([UInt8])
    /// A value with no member set (`{}` in JSON).
    case empty
}

/// `opentelemetry.proto.common.v1.KeyValue`.
public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: AnyValue

    public init(key: String, value: AnyValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == KeyValue {
    /// The value of the first attribute named `key`, if any.
    @inlinable
    public subscript(key key: String) -> AnyValue? {
        for attribute in self where attribute.key == key { return attribute.value }
        return nil
    }
}

extension AnyValue {
    /// The value as text when it is a scalar; `nil` for arrays, maps, bytes and empty values.
    public var scalarText: String? {
        switch self {
        case .string(let value): return value
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value): return JSONWriter.numberText(value)
        case .array, .kvlist, .bytes, .empty: return nil
        }
    }

    /// The string value, or `nil` when the value is not a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
