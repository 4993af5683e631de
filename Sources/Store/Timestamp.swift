/// Formats Unix nanoseconds as the store's text timestamps.
public enum Timestamp {
    /// `2026-11-22T01:02:03.123456Z`: UTC, microseconds, fixed width so text order is time order.
    public static func iso8601(unixNano: Int64) -> String {
        let micros = unixNano >= 0 ? unixNano / 1_000 : (unixNano - 999) / 1_000
        var seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        let (year, month, day) = civil(fromDays: &days)
        guard (0...9999).contains(year) else {
            return padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2) + "T" + padded(seconds / 3600, 2) + ":"
                + padded(seconds / 60 % 60, 2) + ":" + padded(seconds % 60, 2) + "." + padded(fraction, 6) + "Z"
        }
        // Written byte by byte: two to four of these per row, in the writer's transaction.
        return String(unsafeUninitializedCapacity: 27) { bytes in
            func put(_ value: Int64, _ width: Int, at start: Int) {
                var value = value
                for position in stride(from: start + width - 1, through: start, by: -1) {
                    bytes[position] = UInt8(truncatingIfNeeded: 48 + value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0); bytes[4] = UInt8(ascii: "-")
            put(month, 2, at: 5); bytes[7] = UInt8(ascii: "-")
            put(day, 2, at: 8); bytes[10] = UInt8(ascii: "T")
            put(seconds / 3600, 2, at: 11); bytes[13] = UInt8(ascii: ":")
            put(seconds / 60 % 60, 2, at: 14); bytes[16] = UInt8(ascii: ":")
            put(seconds % 60, 2, at: 17); bytes[19] = UInt8(ascii: ".")
            put(fraction, 6, at: 20); bytes[26] = UInt8(ascii: "Z")
            return 27
        }
    }

    /// `value` in decimal, zero-padded to `width` digits (years outside 0–9999 only).
    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
    }

    /// Howard Hinnant's days-to-civil algorithm.
    private static func civil(fromDays days: inout Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
