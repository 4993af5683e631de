/// Reads the protobuf wire format: tags, varints, fixed-width numbers and length-delimited
/// fields, over bytes that stay borrowed for the whole decode.
///
/// Every read checks the bounds; a length is checked against the bytes that remain before
/// anything is allocated, so a declared length of 2^62 fails at once. Nesting is counted, so
/// deep messages fail before the stack does.
struct ProtobufWireReader {
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int
    /// How many messages enclose this one (0 for the request itself).
    let depth: Int
    let maxDepth: Int

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.init(bytes: bytes, range: 0..<bytes.count, depth: 0, maxDepth: maxDepth)
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, depth: Int, maxDepth: Int) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.depth = depth
        self.maxDepth = maxDepth
    }

    static let prefix = "body is not a valid OTLP protobuf message: "

    static func truncated() -> ProtobufFieldError {
        ProtobufFieldError.syntax(prefix + "a field runs past the end of the body (truncated)")
    }

    static func malformed() -> ProtobufFieldError {
        ProtobufFieldError.syntax(prefix + "malformed field (bad tag, wire type or length)")
    }

    /// The next field's number and wire type, or `nil` at the end of the message.
    @inline(__always)
    mutating func nextField() throws(ProtobufFieldError) -> (number: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let tag = try varint()
        guard let wireType = WireType(rawValue: UInt8(tag & 7)), tag >> 3 != 0, tag >> 3 <= 536_870_911 else {
            throw Self.malformed()
        }
        return (Int(tag >> 3), wireType)
    }

    @inline(__always)
    mutating func varint() throws(ProtobufFieldError) -> UInt64 {
        if position < end, bytes[position] < 0x80 {
            defer { position += 1 }
            return UInt64(bytes[position])
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let byte = bytes[position]
            position += 1
            // At most ten bytes; bits beyond the 64th are dropped, as other parsers do.
            guard shift <= 63 else { throw Self.malformed() }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw Self.truncated()
    }

    mutating func fixed64() throws(ProtobufFieldError) -> UInt64 {
        guard end - position >= 8 else { throw Self.truncated() }
        var value: UInt64 = 0
        for offset in (0..<8).reversed() { value = value << 8 | UInt64(bytes[position + offset]) }
        position += 8
        return value
    }

    mutating func fixed32() throws(ProtobufFieldError) -> UInt32 {
        guard end - position >= 4 else { throw Self.truncated() }
        var value: UInt32 = 0
        for offset in (0..<4).reversed() { value = value << 8 | UInt32(bytes[position + offset]) }
        position += 4
        return value
    }

    /// The range of a length-delimited field's bytes; the reader moves past them.
    @inline(__always)
    mutating func lengthDelimited() throws(ProtobufFieldError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw Self.truncated() }
        let range = position..<position + Int(length)
        position = range.upperBound
        return range
    }

    /// A reader for the embedded message in `range`.
    func message(_ range: Range<Int>) throws(ProtobufFieldError) -> ProtobufWireReader {
        guard depth < maxDepth else { throw .syntax(Self.prefix + "messages nest too deeply") }
        return ProtobufWireReader(bytes: bytes, range: range, depth: depth + 1, maxDepth: maxDepth)
    }

    /// A string field: its bytes must be valid UTF-8.
    mutating func string() throws(ProtobufFieldError) -> String {
        let range = try lengthDelimited()
        let utf8 = UnsafeBufferPointer(rebasing: bytes[range])
        guard UTF8Check.isValid(utf8) else { throw .syntax(Self.prefix + "a string field is not valid UTF-8") }
        return String(decoding: utf8, as: UTF8.self)
    }

    mutating func byteArray() throws(ProtobufFieldError) -> [UInt8] {
        Array(UnsafeBufferPointer(rebasing: bytes[try lengthDelimited()]))
    }

    /// Moves past a field this reader does not use (unknown fields are ignored).
    mutating func skip(_ wireType: WireType, number: Int) throws(ProtobufFieldError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup:
            let start = position
            var group = try message(start..<end)
            while true {
                guard let (inner, innerType) = try group.nextField() else { throw Self.truncated() }
                if innerType == .endGroup {
                    guard inner == number else { throw Self.malformed() }
                    break
                }
                try group.skip(innerType, number: inner)
            }
            position = group.position
        case .endGroup: throw Self.malformed()
        }
    }

    /// Checks that field `number` arrived with `expected` wire type; a known field with another
    /// one makes the bytes malformed (as in the OpenTelemetry Collector's decoder).
    @inline(__always)
    static func expect(_ wireType: WireType, _ expected: WireType, number: Int) throws(ProtobufFieldError) {
        guard wireType == expected else {
            throw ProtobufFieldError(path: "", message: "field \(number) has the wrong wire type (\(WireScan.name(of: UInt64(wireType.rawValue))))",
                                     malformed: true)
        }
    }
}

/// UTF-8 validation without building a string: no overlong forms, no surrogates, nothing
/// above U+10FFFF (what swift-protobuf and the JSON reader refuse too).
enum UTF8Check {
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            var length = 3
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0: low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: break
            case 0xED: high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return false
            }
            guard count - index >= length, (low...high).contains(bytes[index + 1]) else { return false }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }
}
