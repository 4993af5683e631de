import Ingest
import Store
import Testing

/// A batch of `n` log rows (only the count matters to the queue).
func batch(items: Int, message: String = "m") -> WriteBatch {
    WriteBatch(logs: (0..<items).map { index in
        LogRow(timestampUnixNano: Int64(index), timeUnixNano: Int64(index), observedTimeUnixNano: 0, level: "INFO",
               loggerName: "test", message: "\(message) \(index)", traceID: nil, spanID: nil, userEmail: nil,
               department: nil, sessionID: nil, endpoint: nil, extra: "{}", exceptionType: nil, exceptionMessage: nil,
               exceptionTraceback: nil, severityNumber: 9, severityText: nil, body: nil, attributes: "[]",
               resource: "{}", scope: "{}", flags: 0, eventName: nil, droppedAttributesCount: 0, serviceName: "svc")
    })
}

@Suite struct GroupCommitQueueTests {
    @Test func admitsUntilCapacityThenRefuses() {
        var queue = GroupCommitQueue<Int>(capacity: 10, maxItemsPerGroup: 100)
        #expect(queue.enqueue(batch(items: 4), ticket: 1) == .accepted)
        #expect(queue.enqueue(batch(items: 6), ticket: 2) == .accepted)
        #expect(queue.queuedItems == 10)
        #expect(queue.isFull)
        #expect(queue.enqueue(batch(items: 1), ticket: 3) == .full)
        #expect(queue.pendingCount == 2)
    }

    @Test func anOversizedBatchEntersOnlyAnEmptyQueue() {
        var queue = GroupCommitQueue<Int>(capacity: 10, maxItemsPerGroup: 100)
        #expect(queue.enqueue(batch(items: 50), ticket: 1) == .accepted)
        #expect(queue.enqueue(batch(items: 1), ticket: 2) == .full)
        _ = queue.takeGroup()
        #expect(queue.queuedItems == 0)
        #expect(queue.enqueue(batch(items: 1), ticket: 3) == .accepted)
        #expect(queue.enqueue(batch(items: 50), ticket: 4) == .full)
    }

    @Test func groupsAreFIFOAndBoundedInItems() {
        var queue = GroupCommitQueue<Int>(capacity: 1_000, maxItemsPerGroup: 10)
        for ticket in 1...5 { #expect(queue.enqueue(batch(items: 4), ticket: ticket) == .accepted) }
        #expect(queue.takeGroup().submissions.map(\.ticket) == [1, 2])
        #expect(queue.takeGroup().submissions.map(\.ticket) == [3, 4])
        #expect(queue.queuedItems == 4)
        #expect(queue.takeGroup().submissions.map(\.ticket) == [5])
        #expect(queue.takeGroup().submissions.isEmpty)
        #expect(queue.queuedItems == 0)
    }

    @Test func aGroupHoldsAtLeastOneSubmission() {
        var queue = GroupCommitQueue<Int>(capacity: 1_000, maxItemsPerGroup: 10)
        #expect(queue.enqueue(batch(items: 30), ticket: 1) == .accepted)
        #expect(queue.enqueue(batch(items: 1), ticket: 2) == .accepted)
        #expect(queue.takeGroup().submissions.map(\.ticket) == [1])
        #expect(queue.takeGroup().submissions.map(\.ticket) == [2])
    }

    @Test func closingRefusesNewWorkButKeepsQueuedWork() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxItemsPerGroup: 100)
        #expect(queue.enqueue(batch(items: 3), ticket: 1) == .accepted)
        queue.close()
        #expect(queue.enqueue(batch(items: 1), ticket: 2) == .closed)
        #expect(queue.takeGroup().submissions.map(\.ticket) == [1])
    }

    @Test func manySubmissionsCompactTheBackingStorage() {
        var queue = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 3)
        var taken: [Int] = []
        for ticket in 0..<500 {
            #expect(queue.enqueue(batch(items: 1), ticket: ticket) == .accepted)
            if ticket % 2 == 1 { taken += queue.takeGroup().submissions.map(\.ticket) }
        }
        while case let group = queue.takeGroup().submissions, !group.isEmpty { taken += group.map(\.ticket) }
        #expect(taken == Array(0..<500))
        #expect(queue.queuedItems == 0)
    }

    /// Taken submissions are released at once: a slot kept until a later compaction kept up
    /// to 64 requests' rows alive (peak memory 300 MiB instead of 175 in a 15 s ingest run).
    @Test func aTakenSubmissionIsNotRetained() {
        final class Ticket {}
        var queue = GroupCommitQueue<Ticket>(capacity: 1_000, maxItemsPerGroup: 10)
        weak var first: Ticket?
        do {
            let ticket = Ticket()
            first = ticket
            #expect(queue.enqueue(batch(items: 4), ticket: ticket) == .accepted)
            #expect(queue.enqueue(batch(items: 4), ticket: Ticket()) == .accepted)
            #expect(queue.enqueue(batch(items: 4), ticket: Ticket()) == .accepted)
            let taken = queue.takeGroup()
            #expect(taken.submissions.count == 2)
            #expect(taken.backlogged)
        }
        #expect(first == nil)
        #expect(queue.pendingCount == 1)
        #expect(queue.takeGroup().backlogged == false)
    }

    @Test func withoutAMeasuredRateTheBoundsAreTheConfiguredOnes() {
        var queue = GroupCommitQueue<Int>(capacity: 3_000, maxItemsPerGroup: 5_000, pacing: CommitPacing(commitsInFlight: 1))
        #expect(queue.commitRate == nil)
        #expect(queue.groupLimit == 5_000)
        // A commit taken with nothing else waiting says nothing about the store's capacity.
        #expect(queue.enqueue(batch(items: 10), ticket: 1) == .accepted)
        let group = queue.takeGroup()
        #expect(!group.backlogged)
        queue.finishCommit(items: 10, duration: .milliseconds(20), backlogged: group.backlogged)
        #expect(queue.commitRate == nil)
        for ticket in 2...4 { #expect(queue.enqueue(batch(items: 1_000), ticket: ticket) == .accepted) }
        #expect(queue.isFull)
        #expect(queue.enqueue(batch(items: 1), ticket: 5) == .full)
    }

    @Test func aMeasuredRateBoundsTheWorkAheadAndTheGroupsInTime() {
        var queue = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 5_000,
                                          pacing: CommitPacing(commitsInFlight: 1, maxWait: .milliseconds(300),
                                                               targetCommitTime: .milliseconds(250)))
        // 5,000 items in 0.5 s: 10,000 items/s.
        queue.recordRate(items: 5_000, seconds: 0.5)
        #expect(queue.commitRate == 10_000)
        #expect(queue.admissionLimit == 3_000)
        #expect(queue.groupLimit == 2_500)
        for ticket in 1...3 { #expect(queue.enqueue(batch(items: 1_000), ticket: ticket) == .accepted) }
        #expect(queue.isFull)
        #expect(queue.enqueue(batch(items: 1), ticket: 4) == .full)
        // A group holds 2,500 items at most: two of the three.
        let group = queue.takeGroup()
        #expect(group.submissions.map(\.ticket) == [1, 2])
        #expect(group.backlogged)
        // The group being committed is still ahead of a new submission.
        #expect(queue.inFlightItems == 2_000)
        #expect(queue.isFull)
        #expect(queue.enqueue(batch(items: 1_000), ticket: 5) == .full)
        queue.finishCommit(items: 2_000, duration: .milliseconds(200), backlogged: group.backlogged)
        #expect(queue.inFlightItems == 0)
        #expect(queue.enqueue(batch(items: 1_000), ticket: 6) == .accepted)
    }

    @Test func overlappingCommitsMultiplyTheRateButNotTheGroup() {
        var queue = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 5_000,
                                          pacing: CommitPacing(commitsInFlight: 2, maxWait: .milliseconds(300),
                                                               targetCommitTime: .milliseconds(250), minItemsPerGroup: 500))
        // Each commit: 2,000 items in 0.5 s; two at a time make 8,000 items/s.
        queue.recordRate(items: 2_000, seconds: 0.5)
        #expect(queue.commitRate == 8_000)
        #expect(queue.groupLimit == 1_000)
        #expect(queue.admissionLimit == 2_400)
    }

    @Test func theBoundsStayWithinTheConfiguredOnes() {
        var fast = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 5_000, pacing: CommitPacing(commitsInFlight: 1))
        fast.recordRate(items: 5_000, seconds: 0.015_625)
        #expect(fast.groupLimit == 5_000)
        for ticket in 1...10 { #expect(fast.enqueue(batch(items: 1_000), ticket: ticket) == .accepted) }
        #expect(fast.enqueue(batch(items: 1), ticket: 11) == .full)
        var slow = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 5_000, pacing: CommitPacing(commitsInFlight: 1))
        slow.recordRate(items: 100, seconds: 1)
        // At least one group of the minimum size, so a slow store still fills its commits.
        #expect(slow.groupLimit == 1_000)
        #expect(slow.admissionLimit == 1_000)
        // An idle queue still takes one request, however large.
        #expect(slow.enqueue(batch(items: 3_000), ticket: 1) == .accepted)
        #expect(slow.enqueue(batch(items: 1), ticket: 2) == .full)
    }

    @Test func theRateFollowsTheStoreSmoothly() {
        var queue = GroupCommitQueue<Int>(capacity: 100_000, maxItemsPerGroup: 50_000,
                                          pacing: CommitPacing(commitsInFlight: 1, smoothing: 0.5))
        queue.recordRate(items: 1_000, seconds: 0.125)
        queue.recordRate(items: 2_000, seconds: 0.125)
        #expect(queue.commitRate == 12_000)
        queue.recordRate(items: 1_000, seconds: 0.25)
        #expect(queue.commitRate == 8_000)
        // A failed commit (no duration) leaves the estimate alone.
        #expect(queue.enqueue(batch(items: 10), ticket: 1) == .accepted)
        #expect(queue.enqueue(batch(items: 10), ticket: 2) == .accepted)
        _ = queue.takeGroup()
        queue.finishCommit(items: 20, duration: nil, backlogged: true)
        #expect(queue.commitRate == 8_000)
        #expect(queue.inFlightItems == 0)
    }

    /// A request is let in before its body is read, with a place reserved at the average
    /// size of a submission; once decoded it is always queued, so no decoding is wasted on
    /// a refusal (before reservations, three of four requests decoded under overload were
    /// refused afterwards).
    @Test func reservationsHoldPlacesAtTheAverageSubmissionSize() {
        var queue = GroupCommitQueue<Int>(capacity: 3_000, maxItemsPerGroup: 10_000)
        #expect(queue.reserve() == .accepted)
        #expect(queue.enqueue(batch(items: 1_000), ticket: 1, reserved: true) == .accepted)
        #expect(queue.itemsPerSubmission == 1_000)
        #expect(queue.reserve() == .accepted)
        #expect(queue.reserve() == .accepted)
        #expect(queue.reservedSubmissions == 2)
        #expect(queue.isFull)
        #expect(queue.reserve() == .full)
        // A reserved submission is queued even past the bound.
        #expect(queue.enqueue(batch(items: 5_000), ticket: 2, reserved: true) == .accepted)
        #expect(queue.queuedItems == 6_000)
        queue.cancelReservation()
        #expect(queue.reservedSubmissions == 0)
        #expect(queue.enqueue(batch(items: 1), ticket: 3) == .full)
        #expect(queue.reserve() == .full)
        _ = queue.takeGroup()
        #expect(queue.reserve() == .accepted)
    }

    @Test func anIdleQueueGrantsOneReservationWhateverTheBound() {
        var queue = GroupCommitQueue<Int>(capacity: 1, maxItemsPerGroup: 10)
        #expect(queue.reserve() == .accepted)
        #expect(queue.reserve() == .full)
        #expect(queue.enqueue(batch(items: 50), ticket: 1, reserved: true) == .accepted)
        #expect(queue.reserve() == .full)
    }

    @Test func closingRefusesReservationsAndEndsTheGrantedOnes() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxItemsPerGroup: 100)
        #expect(queue.reserve() == .accepted)
        queue.close()
        #expect(queue.reserve() == .closed)
        #expect(queue.enqueue(batch(items: 1), ticket: 1, reserved: true) == .closed)
        #expect(queue.reservedSubmissions == 0)
    }
}

extension GroupCommitQueue {
    /// Feeds the rate estimate with one commit of `items` in `seconds`, taken with a backlog.
    mutating func recordRate(items: Int, seconds: Double) {
        finishCommit(items: items, duration: .seconds(seconds), backlogged: true)
    }
}
