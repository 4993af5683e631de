import Foundation
import Synchronization

/// Row ids for the seed tables' `id` primary keys: UUID version 7 (RFC 9562), the Unix time in
/// milliseconds first, so ids made later sort later.
///
/// The seed generates random (version 4) UUIDs, and every insert into a B-tree keyed by a
/// random value lands on a random page: a group commit of 5,000 spans dirtied (and wrote to
/// the log) nearly every leaf of the `id` index, a cost that grows with the table. Ids in time
/// order are appended at the index's right edge, like the time indexes.
///
/// Within one millisecond a counter (RFC 9562 §6.2, method 1), started at a random value each
/// millisecond, keeps the order; the clock going back never makes an id smaller than the last.
public enum TimeOrderedID {
    private struct State {
        var millisecond: UInt64 = 0
        var counter: UInt64 = 0
    }

    private static let state = Mutex(State())

    /// 42 counter bits: 12 in `rand_a`, 30 at the top of `rand_b`; the last 32 bits are random.
    private static let counterBits: UInt64 = 42

    /// A new id, in the usual lower-case 8-4-4-4-12 form.
    public static func next() -> String {
        let now = UInt64(max(0, Date.now.timeIntervalSince1970 * 1000))
        let (millisecond, counter) = state.withLock { state -> (UInt64, UInt64) in
            if now > state.millisecond {
                state.millisecond = now
                // Start low in the counter's range, so a millisecond never runs out of it.
                state.counter = UInt64.random(in: 0..<(1 << (counterBits - 2)))
            } else {
                state.counter += 1
                if state.counter >= 1 << counterBits {
                    state.millisecond += 1
                    state.counter = 0
                }
            }
            return (state.millisecond, state.counter)
        }
        return format(millisecond: millisecond, counter: counter, random: UInt32.random(in: .min ... .max))
    }

    static func format(millisecond: UInt64, counter: UInt64, random: UInt32) -> String {
        let high = (millisecond & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (counter >> 30) & 0x0FFF
        let low = 0x8000_0000_0000_0000 | (counter & 0x3FFF_FFFF) << 32 | UInt64(random)
        var bytes = [UInt8](repeating: 0, count: 36)
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var position = 0
        func put(_ value: UInt64, nibbles: Int) {
            for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    bytes[position] = UInt8(ascii: "-")
                    position += 1
                }
                bytes[position] = digits[Int((value >> UInt64(shift)) & 0xF)]
                position += 1
            }
        }
        put(high, nibbles: 16)
        put(low, nibbles: 16)
        return String(decoding: bytes, as: UTF8.self)
    }
}
