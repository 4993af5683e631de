import Store

/// The decisions of group commit, with no I/O: which submissions are admitted, and which
/// are committed together.
///
/// Bounded in items (spans plus log records) waiting to be committed. A submission that
/// would overflow the bound is refused, except into an empty queue (a single request is
/// already bounded by the body limits).
public struct GroupCommitQueue<Ticket> {
    public enum Admission: Equatable, Sendable {
        case accepted
        /// The queue is full: try again later.
        case full
        /// The writer is shutting down.
        case closed
    }

    public let capacity: Int
    public let maxItemsPerGroup: Int
    public private(set) var queuedItems = 0
    public private(set) var isClosed = false
    private var pending: [(batch: WriteBatch, ticket: Ticket)] = []
    private var head = 0

    public init(capacity: Int, maxItemsPerGroup: Int) {
        precondition(capacity > 0 && maxItemsPerGroup > 0)
        self.capacity = capacity
        self.maxItemsPerGroup = maxItemsPerGroup
    }

    public var pendingCount: Int { pending.count - head }
    public var isFull: Bool { queuedItems >= capacity }

    public mutating func enqueue(_ batch: WriteBatch, ticket: Ticket) -> Admission {
        if isClosed { return .closed }
        if pendingCount > 0, queuedItems + batch.itemCount > capacity { return .full }
        pending.append((batch, ticket))
        queuedItems += batch.itemCount
        return .accepted
    }

    /// The next submissions to commit together, oldest first: at least one, then as many
    /// as fit in `maxItemsPerGroup`. Empty when nothing is queued.
    public mutating func takeGroup() -> [(batch: WriteBatch, ticket: Ticket)] {
        var group: [(batch: WriteBatch, ticket: Ticket)] = []
        var items = 0
        while head < pending.count {
            let next = pending[head]
            if !group.isEmpty, items + next.batch.itemCount > maxItemsPerGroup { break }
            group.append(next)
            items += next.batch.itemCount
            head += 1
        }
        queuedItems -= items
        if head > 64, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return group
    }

    /// Refuses further submissions; queued ones are still handed out by `takeGroup`.
    public mutating func close() {
        isClosed = true
    }
}
