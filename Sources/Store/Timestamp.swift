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
        var text = ""
        text.reserveCapacity(27)
        append(&text, year, width: 4)
        text += "-"; append(&text, month, width: 2)
        text += "-"; append(&text, day, width: 2)
        text += "T"; append(&text, seconds / 3600, width: 2)
        text += ":"; append(&text, seconds / 60 % 60, width: 2)
        text += ":"; append(&text, seconds % 60, width: 2)
        text += "."; append(&text, fraction, width: 6)
        text += "Z"
        return text
    }

    private static func append(_ text: inout String, _ value: Int64, width: Int) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
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
