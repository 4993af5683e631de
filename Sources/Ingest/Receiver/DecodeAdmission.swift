import Synchronization

/// Bounds the export requests whose bodies are being read and decoded at once. A request that
/// finds every slot taken is refused at once (503 with `Retry-After`) before its body is read,
/// so an overload costs neither memory (bodies stay in the socket) nor a place in a queue.
///
/// Decoding is CPU work: more requests than cores decoding at once only adds latency and
/// memory, never throughput.
final class DecodeAdmission: Sendable {
    let limit: Int
    private let inFlight = Mutex(0)

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Takes a slot, or returns `false` when all `limit` are taken.
    func tryEnter() -> Bool {
        inFlight.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        inFlight.withLock { count in
            precondition(count > 0, "DecodeAdmission.leave without enter")
            count -= 1
        }
    }

    var current: Int { inFlight.withLock { $0 } }
}
