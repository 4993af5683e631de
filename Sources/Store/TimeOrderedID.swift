import Foundation
import Synchronization

/// Row ids for the original tables' `id` primary keys: UUID version 7 (RFC 9562), the Unix time in
/// milliseconds first, so ids made later sort later.
///
/// The original schema generates random (version 4) UUIDs, and every insert into a B-tree keyed by a
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
        /// The random bits' generator, seeded once from the system's: asking the system for
        /// each id is a `getrandom` system call per row written.
        var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    }

    private static let state = Mutex(State())

    /// 42 counter bits: 12 in `rand_a`, 30 at the top of `rand_b`; the last 32 bits are random.
    private static let counterBits: UInt64 = 42

    /// A new id, in the usual lower-case 8-4-4-4-12 form.
    public static func next() -> String {
        let now = UInt64(max(0, Date.now.timeIntervalSince1970 * 1000))
        let (millisecond, counter, random) = state.withLock { state -> (UInt64, UInt64, UInt32) in
            let random = state.random.next()
            if now > state.millisecond {
                state.millisecond = now
                // Start low in the counter's range, so a millisecond never runs out of it.
                state.counter = state.random.next() & ((1 << (counterBits - 2)) - 1)
            } else {
                state.counter += 1
                if state.counter >= 1 << counterBits {
                    state.millisecond += 1
                    state.counter = 0
                }
            }
            return (state.millisecond, state.counter, UInt32(truncatingIfNeeded: random))
        }
        return format(millisecond: millisecond, counter: counter, random: random)
    }

    static func format(millisecond: UInt64, counter: UInt64, random: UInt32) -> String {
        let high = (millisecond & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (counter >> 30) & 0x0FFF
        let low = 0x8000_0000_0000_0000 | (counter & 0x3FFF_FFFF) << 32 | UInt64(random)
        return String(unsafeUninitializedCapacity: 36) { bytes in
            var position = 0
            func put(_ value: UInt64) {
                for shift in stride(from: 60, through: 0, by: -4) {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        bytes[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
                    bytes[position] = nibble < 10 ? 48 + nibble : 87 + nibble
                    position += 1
                }
            }
            put(high)
            put(low)
            return 36
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood): a fast generator for bits that only need to differ
/// between processes and ids, not to be secret.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
