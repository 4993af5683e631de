import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// Which reads run, wait or are refused (`ReadAdmission`, no I/O), and the gate around it.
@Suite struct ReadGateTests {
    @Test func readsRunUpToTheSlotsThenWaitUpToTheQueueThenAreRefused() {
        var admission = ReadAdmission(slots: 2, queueLimit: 2)
        #expect(admission.arrive(1) == .run)
        #expect(admission.arrive(2) == .run)
        #expect(admission.arrive(3) == .wait)
        #expect(admission.arrive(4) == .wait)
        #expect(admission.arrive(5) == .refuse)
        #expect(admission.running == 2 && admission.waiting == [3, 4])
    }

    @Test func aFinishedReadHandsItsSlotToTheOldestWaiter() {
        var admission = ReadAdmission(slots: 1, queueLimit: 2)
        #expect(admission.arrive(1) == .run)
        #expect(admission.arrive(2) == .wait)
        #expect(admission.arrive(3) == .wait)
        #expect(admission.finish() == 2)
        #expect(admission.running == 1 && admission.waiting == [3])
        #expect(admission.finish() == 3)
        #expect(admission.finish() == nil)
        #expect(admission.running == 0 && admission.waiting.isEmpty)
        // Free slots again: the next read runs at once.
        #expect(admission.arrive(4) == .run)
    }

    @Test func aNewReadDoesNotOvertakeWaitingOnes() {
        var admission = ReadAdmission(slots: 1, queueLimit: 1)
        #expect(admission.arrive(1) == .run)
        #expect(admission.arrive(2) == .wait)
        #expect(admission.finish() == 2)
        #expect(admission.arrive(3) == .wait)
    }

    @Test func aWithdrawnWaiterLeavesTheQueueAndAGrantedOneCannotWithdraw() {
        var admission = ReadAdmission(slots: 1, queueLimit: 3)
        _ = admission.arrive(1)
        _ = admission.arrive(2)
        _ = admission.arrive(3)
        #expect(admission.withdraw(2) == true)
        #expect(admission.withdraw(2) == false)
        #expect(admission.waiting == [3])
        #expect(admission.finish() == 3)
        #expect(admission.withdraw(3) == false)
        #expect(admission.running == 1)
    }

    @Test func noQueueRefusesEveryReadBeyondTheSlots() {
        var admission = ReadAdmission(slots: 1, queueLimit: 0)
        #expect(admission.arrive(1) == .run)
        #expect(admission.arrive(2) == .refuse)
        #expect(admission.finish() == nil)
        #expect(admission.arrive(3) == .run)
    }

    @Test func limitsReadInSecondsWithTheirFraction() {
        #expect(ReadTimeLimit.text(.seconds(30)) == "30 s")
        #expect(ReadTimeLimit.text(.milliseconds(2500)) == "2.5 s")
        #expect(ReadTimeLimit.text(.milliseconds(250)) == "0.25 s")
        #expect(ReadTimeLimit.text(.milliseconds(5)) == "0.005 s")
    }

    /// The gate around the decisions: a waiter runs once a slot frees, a full queue refuses at
    /// once, and a waiter that gets no slot in time is refused.
    @Test func theGateRunsWaitsAndRefuses() async throws {
        let gate = ReadGate(slots: 1, queueLimit: 1, maxWait: .seconds(30))
        let release = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.run { for await _ in release.stream { break } } }
        try await waitUntil { gate.load == (1, 0) }
        let waiter = Task { try await gate.run { 42 } }
        try await waitUntil { gate.load == (1, 1) }
        await #expect { try await gate.run { 0 } } throws: { ($0 as? StoreError)?.kind == .tooManyReads }
        release.continuation.yield()
        try await holder.value
        #expect(try await waiter.value == 42)
        #expect(gate.load == (0, 0))

        let short = ReadGate(slots: 1, queueLimit: 1, maxWait: .milliseconds(100))
        let held = AsyncStream<Void>.makeStream()
        let blocker = Task { try await short.run { for await _ in held.stream { break } } }
        try await waitUntil { short.load == (1, 0) }
        let started = ContinuousClock.now
        await #expect { try await short.run { 0 } } throws: { ($0 as? StoreError)?.kind == .tooManyReads }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(short.load == (1, 0))
        held.continuation.yield()
        try await blocker.value
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let gate = ReadGate(slots: 1, queueLimit: 1, maxWait: .seconds(30))
        let held = AsyncStream<Void>.makeStream()
        let blocker = Task { try await gate.run { for await _ in held.stream { break } } }
        try await waitUntil { gate.load == (1, 0) }
        let waiter = Task { try await gate.run { 1 } }
        try await waitUntil { gate.load == (1, 1) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.load == (1, 0))
        held.continuation.yield()
        try await blocker.value
        #expect(gate.load == (0, 0))
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        do {
            try await poll("the condition", within: .seconds(10), every: .milliseconds(5)) { condition() }
        } catch is PollTimeout {
            Issue.record("condition not met within 10 s")
        }
    }
}
