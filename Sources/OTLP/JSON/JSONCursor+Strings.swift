/// A string in the text: the bytes between its quotes, still escaped.
struct JSONStringToken {
    var start: Int
    var end: Int
    var hasEscapes: Bool

    var isEmpty: Bool { start == end }
}

extension JSONCursor {
    /// Reads the string that `peek()` found. Its escapes, UTF-8 and surrogate pairs are
    /// checked here, so the string can later be decoded without failing.
    mutating func readString() throws(JSONReadError) -> JSONStringToken {
        let start = index + 1
        var position = start
        var hasEscapes = false
        while true {
            // Runs of plain ASCII go eight bytes at a time.
            while bytes.count - position >= 8, !Self.mayHoldSpecialByte(bytes, at: position) { position += 8 }
            guard position < bytes.count else { throw .syntax }
            let byte = bytes[position]
            if byte == .quote {
                index = position + 1
                return JSONStringToken(start: start, end: position, hasEscapes: hasEscapes)
            } else if byte == .backslash {
                hasEscapes = true
                index = position
                try skipEscape()
                position = index
            } else if byte < 0x20 {
                throw .syntax
            } else if byte < 0x80 {
                position += 1
            } else {
                index = position
                try skipMultibyteScalar()
                position = index
            }
        }
    }

    /// Whether any of the eight bytes at `position` may be a quote, a backslash, a control
    /// character or part of a multibyte scalar (false positives are fine).
    @inline(__always)
    private static func mayHoldSpecialByte(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        let word = UnsafeRawPointer(bytes.baseAddress! + position).loadUnaligned(as: UInt64.self)
        let ones: UInt64 = 0x0101_0101_0101_0101, highBits: UInt64 = 0x8080_8080_8080_8080
        // Sets the high bit of some byte when a byte of `word` is below `limit` (< 0x80).
        func below(_ limit: UInt8, _ word: UInt64) -> UInt64 { (word &- ones &* UInt64(limit)) & ~word }
        let quote = below(1, word ^ ones &* UInt64(UInt8.quote))
        let backslash = below(1, word ^ ones &* UInt64(UInt8.backslash))
        return (quote | backslash | below(0x20, word) | word) & highBits != 0
    }

    /// The string's value.
    func string(_ token: JSONStringToken) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        // Unescaping never makes the text longer.
        return String(unsafeUninitializedCapacity: raw.count) { Self.unescape(raw, into: $0) }
    }

    /// Calls `body` with the string's UTF-8, unescaped; copies only when there are escapes.
    func withUTF8<Result>(_ token: JSONStringToken, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let raw = UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])
        guard token.hasEscapes else { return body(raw) }
        var buffer = [UInt8](repeating: 0, count: raw.count)
        let count = buffer.withUnsafeMutableBufferPointer { Self.unescape(raw, into: $0) }
        return buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }

    /// Reads past `\x` or `\uXXXX`; a high surrogate must be followed by an escaped low one.
    private mutating func skipEscape() throws(JSONReadError) {
        guard index + 1 < bytes.count else { throw .syntax }
        switch bytes[index + 1] {
        case .quote, .backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
             UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard let unit = Self.hexUnit(bytes, at: index + 2) else { throw .syntax }
            index += 6
            switch unit {
            case 0xD800...0xDBFF:
                guard index + 1 < bytes.count, bytes[index] == .backslash, bytes[index + 1] == UInt8(ascii: "u"),
                      let low = Self.hexUnit(bytes, at: index + 2), (0xDC00...0xDFFF).contains(low) else { throw .syntax }
                index += 6
            case 0xDC00...0xDFFF:
                throw .syntax
            default:
                break
            }
        default:
            throw .syntax
        }
    }

    /// Reads past one UTF-8 encoded scalar of two to four bytes (no overlong forms, no
    /// surrogates, nothing above U+10FFFF).
    private mutating func skipMultibyteScalar() throws(JSONReadError) {
        var length = 3
        // The range the second byte must fall in.
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch bytes[index] {
        case 0xC2...0xDF: length = 2
        case 0xE0: low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: break
        case 0xED: high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw .syntax
        }
        guard bytes.count - index >= length, (low...high).contains(bytes[index + 1]) else { throw .syntax }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { throw .syntax }
        index += length
    }

    /// The four hex digits at `position`, if they are there.
    private static func hexUnit(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> UInt32? {
        guard position >= 0, bytes.count - position >= 4 else { return nil }
        var unit: UInt32 = 0
        for offset in 0..<4 {
            guard let nibble = HexDigits.value(bytes[position + offset]) else { return nil }
            unit = unit << 4 | UInt32(nibble)
        }
        return unit
    }

    /// Writes the unescaped form of `raw` (checked by `readString`) to `output`; returns its length.
    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var read = 0, written = 0
        func put(_ byte: UInt8) {
            output[written] = byte
            written += 1
        }
        while read < raw.count {
            let byte = raw[read]
            guard byte == .backslash else {
                put(byte)
                read += 1
                continue
            }
            let escaped = raw[read + 1]
            read += 2
            switch escaped {
            case UInt8(ascii: "b"): put(0x08)
            case UInt8(ascii: "f"): put(0x0C)
            case UInt8(ascii: "n"): put(0x0A)
            case UInt8(ascii: "r"): put(0x0D)
            case UInt8(ascii: "t"): put(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexUnit(raw, at: read) ?? 0xFFFD
                read += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = hexUnit(raw, at: read + 2) ?? 0xDC00
                    read += 6
                    scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                }
                switch scalar {
                case ..<0x80:
                    put(UInt8(scalar))
                case ..<0x800:
                    put(0xC0 | UInt8(scalar >> 6))
                    put(0x80 | UInt8(scalar & 0x3F))
                case ..<0x10000:
                    put(0xE0 | UInt8(scalar >> 12))
                    put(0x80 | UInt8(scalar >> 6 & 0x3F))
                    put(0x80 | UInt8(scalar & 0x3F))
                default:
                    put(0xF0 | UInt8(scalar >> 18))
                    put(0x80 | UInt8(scalar >> 12 & 0x3F))
                    put(0x80 | UInt8(scalar >> 6 & 0x3F))
                    put(0x80 | UInt8(scalar & 0x3F))
                }
            default:
                put(escaped) // \" \\ \/
            }
        }
        return written
    }
}
