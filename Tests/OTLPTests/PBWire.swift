import Foundation

/// A minimal protobuf writer for tests, independent of the generated code: it builds valid
/// messages field by field and, with `raw`, any bytes at all.
enum PBWire {
    typealias Message = [Field]

    enum Field: Sendable {
        case varint(Int, UInt64)
        case fixed64(Int, UInt64)
        case fixed32(Int, UInt32)
        case bytes(Int, Data)
        case message(Int, Message)
        /// Bytes written as they are: a tag, a length or anything else.
        case raw([UInt8])
    }

    static func message(_ fields: Message) -> Data {
        var out: [UInt8] = []
        for field in fields { write(field, into: &out) }
        return Data(out)
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    static func tag(_ number: Int, _ wireType: UInt64) -> [UInt8] { varint(UInt64(number) << 3 | wireType) }

    private static func write(_ field: Field, into out: inout [UInt8]) {
        switch field {
        case .varint(let number, let value):
            out += tag(number, 0) + varint(value)
        case .fixed64(let number, let value):
            out += tag(number, 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .fixed32(let number, let value):
            out += tag(number, 5) + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        case .bytes(let number, let data):
            out += tag(number, 2) + varint(UInt64(data.count)) + Array(data)
        case .message(let number, let fields):
            let body = message(fields)
            out += tag(number, 2) + varint(UInt64(body.count)) + Array(body)
        case .raw(let bytes):
            out += bytes
        }
    }

    /// The bytes of an `AnyValue` holding arrays nested `depth` deep around a string, built
    /// without recursion (for depths that would overflow a test thread's stack).
    static func nestedArrayBytes(_ depth: Int) -> Data {
        var value = message([.bytes(1, Data("leaf".utf8))])
        for _ in 0..<depth {
            let list = message([.bytes(1, value)]) // ArrayValue { values: [value] }
            value = message([.bytes(5, list)]) // AnyValue { array_value: list }
        }
        return value
    }

    /// An `AnyValue` holding arrays nested `depth` deep around a string.
    static func nestedArrays(_ depth: Int) -> Message {
        var value: Message = [.bytes(1, Data("leaf".utf8))]
        for _ in 0..<depth {
            value = [.message(5, [.message(1, value)])] // array_value { values: [value] }
        }
        return value
    }
}
