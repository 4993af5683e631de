import Foundation

/// Go's duration syntax (`time.ParseDuration`), as Tempo and Loki read `100ms`, `1h30m`,
/// `1.5s`, `250us`: a sequence of decimal numbers, each with a unit (ns, us/µs, ms, s, m, h;
/// LogQL ranges also take d, w, y). `0` alone is allowed.
public enum GoDuration {
    static let units: [(String, Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ("d", 86_400e9), ("w", 604_800e9), ("y", 31_536_000e9),
    ]

    /// Nanoseconds, or nil when `text` is not a duration (or is beyond ±292 years).
    public static func parse(_ text: String) -> Int64? {
        var rest = Substring(text)
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total.isFinite, total < 9.2e18 else { return nil }
        return Int64((negative ? -total : total).rounded())
    }

    /// The shortest form: `1h30m`, `250ms`, `0s`.
    public static func format(_ nanos: Int64) -> String {
        if nanos == 0 { return "0s" }
        let sign = nanos < 0 ? "-" : ""
        var rest = nanos.magnitude
        if rest % 1_000_000_000 != 0 {
            for (unit, size) in [("ms", UInt64(1_000_000)), ("us", 1_000), ("ns", 1)] where rest % size == 0 {
                return sign + String(rest / size) + unit
            }
        }
        var text = sign
        for (unit, size) in [("h", UInt64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000)] where rest >= size {
            text += String(rest / size) + unit
            rest %= size
        }
        return text
    }
}

/// The times Grafana and other Loki/Tempo clients send: Unix nanoseconds (Loki's default),
/// Unix seconds with or without a fraction, or RFC 3339.
public enum QueryTime {
    /// Unix nanoseconds, or nil when `text` is none of the accepted forms.
    ///
    /// Integers of more than 12 digits are nanoseconds, shorter ones seconds (Loki's rule of
    /// thumb, so `1700000000` and `1700000000000000000` are the same instant).
    public static func parse(_ text: String) -> Int64? {
        if let integer = Int64(text) {
            if text.trimmingCharacters(in: CharacterSet(charactersIn: "-")).count > 12 { return integer }
            let (nanos, overflow) = integer.multipliedReportingOverflow(by: 1_000_000_000)
            return overflow ? nil : nanos
        }
        if let seconds = Double(text), seconds.isFinite, text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) {
            guard abs(seconds) < 9.2e9 else { return nil }
            return Int64((seconds * 1e9).rounded())
        }
        return rfc3339(text)
    }

    /// `2026-11-22T07:38:40.123456789Z` or with a `±hh:mm` offset.
    static func rfc3339(_ text: String) -> Int64? {
        let characters = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= characters.count else { return nil }
            var value: Int64 = 0
            for byte in characters[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard characters.count >= 20, let year = digits(0, 4), characters[4] == 45, let month = digits(5, 2), characters[7] == 45,
              let day = digits(8, 2), characters[10] == 84 || characters[10] == 116 || characters[10] == 32,
              let hour = digits(11, 2), characters[13] == 58, let minute = digits(14, 2), characters[16] == 58,
              let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return nil
        }
        var index = 19
        var fraction: Int64 = 0
        if index < characters.count, characters[index] == 46 {
            index += 1
            var scale: Int64 = 100_000_000
            let start = index
            while index < characters.count, characters[index] >= 48, characters[index] <= 57 {
                fraction += Int64(characters[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset: Int64 = 0
        guard index < characters.count else { return nil }
        if characters[index] == 90 || characters[index] == 122 {
            index += 1
        } else if characters[index] == 43 || characters[index] == 45 {
            guard let hours = digits(index + 1, 2), characters.count > index + 3, characters[index + 3] == 58,
                  let minutes = digits(index + 4, 2) else { return nil }
            offset = (hours * 60 + minutes) * 60 * (characters[index] == 43 ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == characters.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return seconds * 1_000_000_000 + fraction
    }
}
