import Synchronization

/// The longest one read may run unless configured otherwise (`--query-timeout`), and how a
/// limit reads in messages.
public enum ReadTimeLimit {
    public static let `default`: Duration = .seconds(30)

    /// `30 s`, `0.5 s`: whole milliseconds, trailing zeros dropped.
    public static func text(_ limit: Duration) -> String {
        let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
        let whole = milliseconds / 1000
        let fraction = milliseconds % 1000
        guard fraction != 0 else { return "\(whole) s" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits) s"
    }
}

/// Which reads run, wait or are refused: at most `slots` run at once (one per connection),
/// at most `queueLimit` wait for a slot, first come first served, and any more are refused at
/// once, so a burst of queries cannot queue without bound. The decisions only; `ReadGate`
/// does the waiting.
struct ReadAdmission: Sendable, Equatable {
    enum Decision: Sendable, Equatable {
        case run, wait, refuse
    }

    let slots: Int
    let queueLimit: Int
    private(set) var running = 0
    /// Tickets of the reads waiting, oldest first.
    private(set) var waiting: [Int] = []

    init(slots: Int, queueLimit: Int) {
        self.slots = max(1, slots)
        self.queueLimit = max(0, queueLimit)
    }

    /// A read with `ticket` arrives.
    mutating func arrive(_ ticket: Int) -> Decision {
        if running < slots, waiting.isEmpty {
            running += 1
            return .run
        }
        guard waiting.count < queueLimit else { return .refuse }
        waiting.append(ticket)
        return .wait
    }

    /// A running read finished: the ticket of the waiting read that takes its slot, if any.
    mutating func finish() -> Int? {
        guard !waiting.isEmpty else {
            running = max(0, running - 1)
            return nil
        }
        return waiting.removeFirst()
    }

    /// A waiting read gives up (it waited too long, or its task was cancelled). False when it
    /// was no longer waiting: it has been given a slot, and must finish like any running read.
    mutating func withdraw(_ ticket: Int) -> Bool {
        guard let index = waiting.firstIndex(of: ticket) else { return false }
        waiting.remove(at: index)
        return true
    }
}

/// Runs reads under a `ReadAdmission`: a refused read, or one that waited `maxWait` for a
/// slot, fails with `StoreError.Kind.tooManyReads`.
final class ReadGate: Sendable {
    private struct State {
        var admission: ReadAdmission
        var nextTicket = 0
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        /// Outcomes decided before the waiter's continuation was in place.
        var decided: [Int: Result<Void, any Error>] = [:]
    }

    private let state: Mutex<State>
    private let maxWait: Duration

    init(slots: Int, queueLimit: Int, maxWait: Duration) {
        self.state = Mutex(State(admission: ReadAdmission(slots: slots, queueLimit: queueLimit)))
        self.maxWait = maxWait
    }

    /// Reads running and waiting now.
    var load: (running: Int, waiting: Int) {
        state.withLock { ($0.admission.running, $0.admission.waiting.count) }
    }

    /// Runs `body` once admitted; its slot is given to the next waiter when it returns.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async throws {
        let (ticket, decision) = state.withLock { state in
            state.nextTicket += 1
            return (state.nextTicket, state.admission.arrive(state.nextTicket))
        }
        switch decision {
        case .run:
            return
        case .refuse:
            throw StoreError(operation: "read", reason: "too many reads running and waiting", kind: .tooManyReads)
        case .wait:
            break
        }
        let maxWait = maxWait
        let timer = Task { [weak self] in
            try? await Task.sleep(for: maxWait)
            guard !Task.isCancelled else { return }
            self?.withdraw(ticket, StoreError(operation: "read", reason: "no read slot within \(ReadTimeLimit.text(maxWait))", kind: .tooManyReads))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> Result<Void, any Error>? in
                    if let outcome = state.decided.removeValue(forKey: ticket) { return outcome }
                    state.waiters[ticket] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            withdraw(ticket, CancellationError())
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard let ticket = state.admission.finish() else { return nil }
            guard let waiter = state.waiters.removeValue(forKey: ticket) else {
                state.decided[ticket] = .success(())
                return nil
            }
            return waiter
        }
        next?.resume()
    }

    private func withdraw(_ ticket: Int, _ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.admission.withdraw(ticket) else { return nil }
            guard let waiter = state.waiters.removeValue(forKey: ticket) else {
                state.decided[ticket] = .failure(error)
                return nil
            }
            return waiter
        }
        waiter?.resume(throwing: error)
    }
}
