// The scalar rules of OTLP/JSON shared by every message. The messages for values of the
// wrong kind ("expected a string" for `true` in a uint32 field) are those of the earlier
// Codable decoder, kept so clients see the same errors.

extension OTLPJSONReader {
    /// A string field; null is the empty string.
    mutating func string() throws(JSONReadError) -> String {
        switch try cursor.peek() {
        case .string: return cursor.string(try cursor.readString())
        case .null: try cursor.readNull(); return ""
        default: try cursor.skipValue(); throw .invalid("expected a string")
        }
    }

    /// An array of strings; a null element is an error.
    mutating func strings() throws(JSONReadError) -> [String] {
        try array { reader, _ throws(JSONReadError) in
            if try reader.cursor.peek() == .null {
                try reader.cursor.readNull()
                throw .invalid("expected a string, found null")
            }
            return try reader.string()
        }
    }

    /// A boolean (the caller handles null).
    mutating func bool() throws(JSONReadError) -> Bool {
        guard try cursor.peek() == .bool else {
            try cursor.skipValue()
            throw .invalid("expected a boolean")
        }
        return try cursor.readBool()
    }

    /// A uint64/fixed64 field: a decimal string or a number.
    mutating func uint64() throws(JSONReadError) -> UInt64 {
        try integer(named: "an unsigned 64-bit integer")
    }

    /// An int64 field: a decimal string or a number.
    mutating func int64() throws(JSONReadError) -> Int64 {
        try integer(named: "a 64-bit integer")
    }

    /// A nanosecond timestamp that must fit the store's signed 64-bit columns.
    mutating func timestamp() throws(JSONReadError) -> UInt64 {
        let value = try uint64()
        guard value <= UInt64(Int64.max) else { throw .invalid("timestamp out of range") }
        return value
    }

    /// A uint32/fixed32 field: a number or a decimal string.
    mutating func uint32() throws(JSONReadError) -> UInt32 {
        switch try cursor.peek() {
        case .string, .number, .null: return try integer(named: "an unsigned 32-bit integer")
        default: try cursor.skipValue(); throw .invalid("expected a string")
        }
    }

    private mutating func integer<Integer: FixedWidthInteger>(named name: String) throws(JSONReadError) -> Integer {
        switch try cursor.peek() {
        case .null:
            try cursor.readNull()
            return 0
        case .string:
            let token = try cursor.readString()
            if let value = cursor.withUTF8(token, Integer.init(decimalUTF8:)) { return value }
            throw .invalid("expected \(name), got \(Self.quoted(cursor.string(token)))")
        case .number:
            let token = try cursor.readNumber()
            if let value = cursor.integer(token, as: Integer.self) { return value }
            throw .invalid("expected \(name), got \(Self.shown(cursor.text(token)))")
        default:
            try cursor.skipValue()
            throw .invalid("expected an integer")
        }
    }

    /// A double: a number, or a string holding a number, "NaN", "Infinity" or "-Infinity".
    mutating func double() throws(JSONReadError) -> Double {
        switch try cursor.peek() {
        case .null:
            try cursor.readNull()
            return 0
        case .number:
            let token = try cursor.readNumber()
            let value = cursor.double(token)
            guard value.isFinite else { throw Self.notADouble(Self.shown(cursor.text(token))) }
            return value
        case .string:
            let text = cursor.string(try cursor.readString())
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let value = Double(text), value.isFinite else { throw Self.notADouble(Self.quoted(text)) }
                return value
            }
        default:
            try cursor.skipValue()
            throw .invalid("expected a string")
        }
    }

    private static func notADouble(_ shown: String) -> JSONReadError {
        .invalid(#"expected a number, "NaN", "Infinity" or "-Infinity", got \#(shown)"#)
    }

    /// An enum field: its number, or its name from `names` (index = number).
    mutating func enumeration(names: [String]) throws(JSONReadError) -> Int32 {
        switch try cursor.peek() {
        case .null:
            try cursor.readNull()
            return 0
        case .number:
            let token = try cursor.readNumber()
            if let value = cursor.integer(token, as: Int32.self) { return value }
            throw .invalid("unknown enum value \(Self.shown(cursor.text(token)))")
        case .string:
            let token = try cursor.readString()
            let value = cursor.withUTF8(token) { utf8 in
                names.firstIndex { $0.utf8.elementsEqual(utf8) }.map(Int32.init) ?? Int32(decimalUTF8: utf8)
            }
            if let value { return value }
            throw .invalid("unknown enum value \(Self.quoted(cursor.string(token)))")
        default:
            try cursor.skipValue()
            throw .invalid("expected a string")
        }
    }

    /// Base64 bytes, standard or URL-safe (the caller handles null).
    mutating func bytes() throws(JSONReadError) -> [UInt8] {
        guard try cursor.peek() == .string else {
            try cursor.skipValue()
            throw .invalid("expected a string")
        }
        guard let bytes = cursor.withUTF8(try cursor.readString(), Base64.decode) else { throw .invalid("expected base64") }
        return bytes
    }

    // MARK: Ids

    /// A trace id: 32 hex digits (any case) or 24 base64 characters; `nil` when null or empty.
    mutating func traceID() throws(JSONReadError) -> TraceID? {
        guard let token = try idToken() else { return nil }
        let id = cursor.withUTF8(token) { utf8 in
            TraceID(hexUTF8: utf8) ?? (utf8.count == 24 ? Base64.decode(utf8).flatMap(TraceID.init(bytes:)) : nil)
        }
        guard let id else { throw .invalid("expected 32 hex digits, got \(Self.quoted(cursor.string(token)))") }
        return id
    }

    /// A span id: 16 hex digits (any case) or 12 base64 characters; `nil` when null or empty.
    mutating func spanID() throws(JSONReadError) -> SpanID? {
        guard let token = try idToken() else { return nil }
        let id = cursor.withUTF8(token) { utf8 in
            SpanID(hexUTF8: utf8) ?? (utf8.count == 12 ? Base64.decode(utf8).flatMap(SpanID.init(bytes:)) : nil)
        }
        guard let id else { throw .invalid("expected 16 hex digits, got \(Self.quoted(cursor.string(token)))") }
        return id
    }

    /// A trace id that must be present and not all zeros.
    mutating func requiredTraceID() throws(JSONReadError) -> TraceID {
        guard let id = try traceID() else { throw .invalid("is required") }
        guard !id.isZero else { throw .invalid("must not be all zeros") }
        return id
    }

    /// A span id that must be present and not all zeros.
    mutating func requiredSpanID() throws(JSONReadError) -> SpanID {
        guard let id = try spanID() else { throw .invalid("is required") }
        guard !id.isZero else { throw .invalid("must not be all zeros") }
        return id
    }

    /// The string holding an id; `nil` when null or empty.
    private mutating func idToken() throws(JSONReadError) -> JSONStringToken? {
        switch try cursor.peek() {
        case .null:
            try cursor.readNull()
            return nil
        case .string:
            let token = try cursor.readString()
            return token.isEmpty ? nil : token
        default:
            try cursor.skipValue()
            throw .invalid("expected a string")
        }
    }

    /// A bad string as shown in a message: quoted, and cut after 48 characters.
    static func quoted(_ text: String) -> String {
        "\"\(shown(text))\""
    }

    /// A bad value as shown in a message: cut after 48 characters.
    static func shown(_ text: String) -> String {
        text.count > 48 ? String(text.prefix(48)) + "…" : text
    }
}

/// Standard and URL-safe base64 (proto3 JSON accepts both alphabets); the padding may be
/// left out, or partly written, but nothing may follow it.
enum Base64 {
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var end = text.count
        while end > 0, text.count - end < 2, text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let remainder = end % 4
        guard remainder != 1, text.count - end <= (4 - remainder) % 4 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(end / 4 * 3 + remainder)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in text[..<end] {
            guard let sextet = value(character) else { return nil }
            accumulator = accumulator << 6 | sextet
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> bits))
            }
        }
        return bytes
    }

    private static func value(_ character: UInt8) -> UInt32? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"), UInt8(ascii: "-"): return 62
        case UInt8(ascii: "/"), UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}
