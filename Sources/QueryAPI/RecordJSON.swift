import OTLP
import Store

/// Writes the store's records (`TraceRecord`, `LogListItem`, …) as the members of a JSON
/// object: each stored property under its coding key (the column's name), in declaration
/// order. `nil` is null, as is a number that is not finite; `JSONText` is embedded as JSON
/// (empty text as an empty string).
enum RecordJSON {
    static func write(_ record: some Encodable, into body: inout JSONWriter) {
        // The encoder holds the writer meanwhile (swapped, so its bytes are never copied).
        let encoder = MemberEncoder()
        swap(&encoder.body, &body)
        do {
            try record.encode(to: encoder)
        } catch {
            // A record is a flat struct of text, numbers, flags and JSON text, all written;
            // another kind of property is left out (and stops a debug build here).
            assertionFailure("\(type(of: record)): \(error)")
        }
        swap(&encoder.body, &body)
    }
}

/// An `Encoder` that writes a flat record's members into a `JSONWriter`.
private final class MemberEncoder: Encoder {
    var body = JSONWriter(capacity: 0)
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Members(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        preconditionFailure("a store record is a flat struct, not a list")
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        preconditionFailure("a store record is a flat struct, not a single value")
    }

    /// The record's members. Each kind of value is written as it is; an optional property's
    /// nil as null (`encodeIfPresent` would leave the member out).
    struct Members<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: MemberEncoder
        var codingPath: [any CodingKey] { [] }

        private func member(_ key: Key, _ value: Any?) throws {
            let write: (inout JSONWriter) -> Void
            switch value {
            case nil: write = { $0.null() }
            case let text as String: write = { $0.string(text) }
            case let number as Int64: write = { $0.int(number) }
            case let number as Int: write = { $0.int(Int64(number)) }
            case let number as Double: write = { number.isFinite ? $0.double(number) : $0.null() }
            case let flag as Bool: write = { $0.bool(flag) }
            case let json as JSONText: write = { json.text.isEmpty ? $0.string(json.text) : $0.rawValue(json.text.utf8) }
            case let value?: throw EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "not a column type"))
            }
            encoder.body.key(key.stringValue)
            write(&encoder.body)
        }

        mutating func encodeNil(forKey key: Key) throws { try member(key, nil) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { try member(key, value) }
        mutating func encode(_ value: String, forKey key: Key) throws { try member(key, value) }
        mutating func encode(_ value: Double, forKey key: Key) throws { try member(key, value) }
        mutating func encode(_ value: Float, forKey key: Key) throws { try member(key, Double(value)) }
        mutating func encode(_ value: Int, forKey key: Key) throws { try member(key, value) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { try member(key, value) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { try member(key, Int64(exactly: value)) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { try member(key, Int64(value)) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { try member(key, Int64(exactly: value)) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try member(key, value) }

        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try member(key, value) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try member(key, value) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try member(key, value) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try member(key, value.map { Double($0) }) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try member(key, value) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try member(key, value) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try member(key, value.flatMap { Int64(exactly: $0) }) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try member(key, value.map { Int64($0) }) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try member(key, value.flatMap { Int64(exactly: $0) }) }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try member(key, value) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                            forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            preconditionFailure("a store record is flat: \(key.stringValue) holds no object")
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            preconditionFailure("a store record is flat: \(key.stringValue) holds no list")
        }

        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }
}
