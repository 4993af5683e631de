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
        #expect(queue.takeGroup().map(\.ticket) == [1, 2])
        #expect(queue.takeGroup().map(\.ticket) == [3, 4])
        #expect(queue.queuedItems == 4)
        #expect(queue.takeGroup().map(\.ticket) == [5])
        #expect(queue.takeGroup().isEmpty)
        #expect(queue.queuedItems == 0)
    }

    @Test func aGroupHoldsAtLeastOneSubmission() {
        var queue = GroupCommitQueue<Int>(capacity: 1_000, maxItemsPerGroup: 10)
        #expect(queue.enqueue(batch(items: 30), ticket: 1) == .accepted)
        #expect(queue.enqueue(batch(items: 1), ticket: 2) == .accepted)
        #expect(queue.takeGroup().map(\.ticket) == [1])
        #expect(queue.takeGroup().map(\.ticket) == [2])
    }

    @Test func closingRefusesNewWorkButKeepsQueuedWork() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxItemsPerGroup: 100)
        #expect(queue.enqueue(batch(items: 3), ticket: 1) == .accepted)
        queue.close()
        #expect(queue.enqueue(batch(items: 1), ticket: 2) == .closed)
        #expect(queue.takeGroup().map(\.ticket) == [1])
    }

    @Test func manySubmissionsCompactTheBackingStorage() {
        var queue = GroupCommitQueue<Int>(capacity: 10_000, maxItemsPerGroup: 3)
        var taken: [Int] = []
        for ticket in 0..<500 {
            #expect(queue.enqueue(batch(items: 1), ticket: ticket) == .accepted)
            if ticket % 2 == 1 { taken += queue.takeGroup().map(\.ticket) }
        }
        while case let group = queue.takeGroup(), !group.isEmpty { taken += group.map(\.ticket) }
        #expect(taken == Array(0..<500))
        #expect(queue.queuedItems == 0)
    }
}
