/// A number in the text, checked against the JSON grammar.
struct JSONNumberToken {
    var start: Int
    var end: Int
    /// No fraction and no exponent.
    var isInteger: Bool
}

extension JSONCursor {
    /// Reads the number that `peek()` found: `-`, digits without leading zeros, then an
    /// optional fraction and exponent.
    mutating func readNumber() throws(JSONReadError) -> JSONNumberToken {
        let start = index
        if bytes[index] == .minus { index += 1 }
        guard isDigit(at: index) else { throw .syntax }
        if bytes[index] == .digit0 { index += 1 } else { skipDigits() }
        var isInteger = true
        if index < bytes.count, bytes[index] == .dot {
            isInteger = false
            index += 1
            guard isDigit(at: index) else { throw .syntax }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == .plus || bytes[index] == .minus { index += 1 }
            guard isDigit(at: index) else { throw .syntax }
            skipDigits()
        }
        return JSONNumberToken(start: start, end: index, isInteger: isInteger)
    }

    /// The number as written, for messages.
    func text(_ token: JSONNumberToken) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    /// The nearest double; infinite when the number is beyond `Double`'s range.
    func double(_ token: JSONNumberToken) -> Double {
        Double(text(token)) ?? .nan
    }

    /// The number as a `T` when it is a whole number in `T`'s range; `1e3`, `1.0` and `-0`
    /// are whole numbers (proto3 JSON accepts integers in any number form).
    func integer<T: FixedWidthInteger>(_ token: JSONNumberToken, as type: T.Type = T.self) -> T? {
        guard let (negative, magnitude) = wholeMagnitude(token) else { return nil }
        guard negative, magnitude != 0 else { return T(exactly: magnitude) }
        // The magnitude of T.min is T.max + 1.
        guard T.isSigned, magnitude - 1 <= UInt64(T.max) else { return nil }
        return T(truncatingIfNeeded: 0 &- magnitude)
    }

    /// Sign and magnitude of a whole number that fits `UInt64`, exactly; `nil` otherwise.
    private func wholeMagnitude(_ token: JSONNumberToken) -> (negative: Bool, magnitude: UInt64)? {
        var position = token.start
        let negative = bytes[position] == .minus
        if negative { position += 1 }
        if token.isInteger {
            var magnitude: UInt64 = 0
            for digit in bytes[position..<token.end] {
                guard magnitude.appendDigit(digit - .digit0) else { return nil }
            }
            return (negative, magnitude)
        }

        // The digits of the integer part and of the fraction form one sequence; the exponent
        // moves the decimal point in it.
        let integerStart = position
        while position < token.end, isDigit(at: position) { position += 1 }
        let integerCount = position - integerStart
        var fractionStart = position
        if position < token.end, bytes[position] == .dot {
            position += 1
            fractionStart = position
            while position < token.end, isDigit(at: position) { position += 1 }
        }
        let digitCount = integerCount + position - fractionStart
        var exponent = 0
        if position < token.end {
            position += 1 // e or E
            let exponentSign = bytes[position]
            if exponentSign == .minus || exponentSign == .plus { position += 1 }
            for digit in bytes[position..<token.end] {
                exponent = min(exponent * 10 + Int(digit - .digit0), 1_000_000)
            }
            if exponentSign == .minus { exponent = -exponent }
        }
        func digit(_ offset: Int) -> UInt8 {
            guard offset < digitCount else { return 0 }
            return bytes[offset < integerCount ? integerStart + offset : fractionStart + offset - integerCount] - .digit0
        }

        var first = 0
        while first < digitCount, digit(first) == 0 { first += 1 }
        if first == digitCount { return (negative, 0) }
        // How many digits of the sequence come before the decimal point.
        let point = integerCount + exponent
        guard point > first else { return nil }
        if point < digitCount {
            for offset in point..<digitCount where digit(offset) != 0 { return nil }
        }
        var magnitude: UInt64 = 0
        for offset in first..<point {
            guard magnitude.appendDigit(digit(offset)) else { return nil }
        }
        return (negative, magnitude)
    }

    private func isDigit(at position: Int) -> Bool {
        position < bytes.count && (UInt8.digit0...UInt8.digit9).contains(bytes[position])
    }

    private mutating func skipDigits() {
        while isDigit(at: index) { index += 1 }
    }
}

extension FixedWidthInteger {
    /// Parses decimal text the way `init?(_: String)` does: an optional sign, then digits.
    init?(decimalUTF8 utf8: UnsafeBufferPointer<UInt8>) {
        var value: Self = 0
        for byte in utf8 {
            guard (UInt8.digit0...UInt8.digit9).contains(byte) else {
                // Signs and anything unusual: the standard library decides.
                guard let parsed = Self(String(decoding: utf8, as: UTF8.self)) else { return nil }
                self = parsed
                return
            }
            guard value.appendDigit(byte - .digit0) else { return nil }
        }
        guard !utf8.isEmpty else { return nil }
        self = value
    }

    /// `self = self * 10 + digit`; false, leaving `self` unspecified, on overflow.
    fileprivate mutating func appendDigit(_ digit: UInt8) -> Bool {
        let (shifted, overflow) = multipliedReportingOverflow(by: 10)
        let (sum, carry) = shifted.addingReportingOverflow(Self(digit))
        self = sum
        return !overflow && !carry
    }
}
