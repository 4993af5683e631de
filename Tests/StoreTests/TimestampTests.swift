import Foundation
import Store
import Testing

@Suite struct TimestampTests {
    @Test func formatsUTCWithMicroseconds() {
        #expect(Timestamp.iso8601(unixNano: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.iso8601(unixNano: 1_795_312_307_879_279_681) == "2026-11-22T01:51:47.879279Z")
        #expect(Timestamp.iso8601(unixNano: 951_782_400_000_001_000) == "2000-02-29T00:00:00.000001Z")
        #expect(Timestamp.iso8601(unixNano: -1_000) == "1969-12-31T23:59:59.999999Z")
    }

    /// The same text as Foundation's formatter (whole seconds) plus the microseconds, over
    /// random instants from 1970 to 9999 and the edges.
    @Test func textMatchesFoundationsCalendar() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var generator = SystemRandomNumberGenerator()
        let maxSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z
        var instants: [Int64] = [0, 1_000, 999_999_999, 1_700_000_000_123_456_789, 951_782_400_000_000_000 /* 2000-02-29 */,
                                 Int64.max]
        for _ in 0..<2_000 {
            instants.append(Int64.random(in: 0...min(maxSeconds, Int64.max / 1_000_000_000), using: &generator) * 1_000_000_000
                            + Int64.random(in: 0..<1_000_000_000, using: &generator))
        }
        for nanos in instants {
            let seconds = nanos / 1_000_000_000
            let micros = nanos / 1_000 % 1_000_000
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
                + "." + String(repeating: "0", count: 6 - String(micros).count) + String(micros) + "Z"
            #expect(Timestamp.iso8601(unixNano: nanos) == expected, "\(nanos)")
        }
    }

    @Test func instantsBefore1970AreFloored() {
        #expect(Timestamp.iso8601(unixNano: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(Timestamp.iso8601(unixNano: -86_400_000_000_000) == "1969-12-31T00:00:00.000000Z")
    }
}
