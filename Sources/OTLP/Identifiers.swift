/// A 16-byte trace id, kept as two big-endian halves.
public struct TraceID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// `nil` unless `bytes` holds exactly 16 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// Parses 32 hex digits, upper or lower case.
    public init?(hex: some StringProtocol) {
        self.init(hexUTF8: hex.utf8)
    }

    /// Parses 32 hex digits given as UTF-8.
    init?(hexUTF8 utf8: some Collection<UInt8>) {
        guard utf8.count == 32,
              let high = HexDigits.parse(utf8.prefix(16)),
              let low = HexDigits.parse(utf8.dropFirst(16)) else { return nil }
        self.init(high: high, low: low)
    }

    public var isZero: Bool { high == 0 && low == 0 }
    /// 32 lower-case hex digits.
    public var hex: String { HexDigits.format(high) + HexDigits.format(low) }
    public var description: String { hex }
    public var bytes: [UInt8] { HexDigits.bigEndianBytes(high) + HexDigits.bigEndianBytes(low) }

    public static func < (lhs: TraceID, rhs: TraceID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

/// An 8-byte span id.
public struct SpanID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// `nil` unless `bytes` holds exactly 8 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 8 else { return nil }
        self.value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses 16 hex digits, upper or lower case.
    public init?(hex: some StringProtocol) {
        self.init(hexUTF8: hex.utf8)
    }

    /// Parses 16 hex digits given as UTF-8.
    init?(hexUTF8 utf8: some Collection<UInt8>) {
        guard utf8.count == 16, let value = HexDigits.parse(utf8) else { return nil }
        self.value = value
    }

    public var isZero: Bool { value == 0 }
    /// 16 lower-case hex digits.
    public var hex: String { HexDigits.format(value) }
    public var description: String { hex }
    public var bytes: [UInt8] { HexDigits.bigEndianBytes(value) }

    public static func < (lhs: SpanID, rhs: SpanID) -> Bool { lhs.value < rhs.value }
}

enum HexDigits {
    static func parse(_ digits: some Collection<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            guard let nibble = self.value(digit) else { return nil }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    /// The value of one hex digit, upper or lower case.
    static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    private static let alphabet: [UInt8] = Array("0123456789abcdef".utf8)

    static func format(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 {
                buffer[index] = alphabet[Int((value >> UInt64(60 - 4 * index)) & 0xF)]
            }
            return 16
        }
    }

    static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) }
    }
}
