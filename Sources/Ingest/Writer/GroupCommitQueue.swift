import Store

/// The decisions of group commit, with no I/O: which submissions are admitted, and which
/// are committed together.
///
/// Bounded twice. In items (spans plus log records) waiting to be committed: `capacity`, the
/// memory bound. And in time: once the store's rate is known (`finishCommit`), it admits work
/// only while everything ahead of a new submission (being committed, queued or reserved)
/// is what the store commits in `pacing.maxWait`, and a group holds what one commit finishes
/// in `pacing.targetCommitTime`. An accepted request waits for that work and its own commit,
/// so the two durations bound its latency on a slow store as on a fast one (10,000 queued
/// items were half a second on SQLite and a second on PostgreSQL on the build machine). A
/// submission that would pass the bound is refused, except into an idle queue (a single
/// request is already bounded by the body limits).
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
    public let pacing: CommitPacing?
    public private(set) var queuedItems = 0
    public private(set) var isClosed = false
    /// Submissions waiting, oldest first. Taken ones leave the array at once: a slot kept
    /// for later compaction would keep its rows alive (a 1000-span request's rows are a
    /// megabyte or two).
    private var pending: [(batch: WriteBatch, ticket: Ticket)] = []
    /// Items per second the store commits when it has a backlog (all commits in flight
    /// together); nil until a commit has measured it.
    public private(set) var commitRate: Double?

    /// `pacing` nil bounds the queue in items only.
    public init(capacity: Int, maxItemsPerGroup: Int, pacing: CommitPacing? = nil) {
        precondition(capacity > 0 && maxItemsPerGroup > 0)
        self.capacity = capacity
        self.maxItemsPerGroup = maxItemsPerGroup
        self.pacing = pacing
    }

    public var pendingCount: Int { pending.count }

    /// Items a group holds at most now: what one commit finishes in `targetCommitTime` at the
    /// measured rate, within `[pacing.minItemsPerGroup, maxItemsPerGroup]`.
    public var groupLimit: Int {
        guard let pacing, let commitRate else { return maxItemsPerGroup }
        let perCommit = commitRate / Double(pacing.commitsInFlight) * pacing.targetCommitTime.seconds
        return Self.clamp(perCommit, min(pacing.minItemsPerGroup, maxItemsPerGroup), maxItemsPerGroup)
    }

    /// Items admitted ahead of a new submission now (being committed, queued and reserved):
    /// what the store commits in `maxWait`, at least one group. Unbounded (only `capacity`
    /// applies) until the rate is measured.
    public var admissionLimit: Int {
        guard let pacing, let commitRate else { return Int.max }
        return Self.clamp(commitRate * pacing.maxWait.seconds, groupLimit, Int.max / 2)
    }

    /// Items in groups taken and not finished (`finishCommit`).
    public private(set) var inFlightItems = 0

    /// Submissions admitted by `reserve` whose rows are not queued yet (being decoded).
    public private(set) var reservedSubmissions = 0
    /// Items in a reserved submission, on average (moving): what a reservation stands for
    /// (at least one).
    public private(set) var itemsPerSubmission: Double = 0

    /// Queued items plus what the reservations will bring.
    private var expectedItems: Double { Double(queuedItems) + Double(reservedSubmissions) * max(itemsPerSubmission, 1) }
    private var isIdle: Bool { pending.isEmpty && reservedSubmissions == 0 }

    /// Whether `extra` more items would pass a bound.
    private func passesBound(adding extra: Double) -> Bool {
        let waiting = expectedItems + extra
        return waiting > Double(capacity) || waiting + Double(inFlightItems) > Double(admissionLimit)
    }

    /// Whether a reservation would be refused now: the bounds are reached (a reservation
    /// is granted while there is room for part of a submission).
    public var isFull: Bool {
        !isIdle && (expectedItems >= Double(capacity) || expectedItems + Double(inFlightItems) >= Double(admissionLimit))
    }

    /// Admits a submission before its body is read and decoded, so that the decoding is
    /// never wasted: a reserved submission is always queued (`enqueue(reserved: true)`).
    /// Granted while the queued items and the reservations, counted at the average size of
    /// a submission, are under the bound; always into an idle queue. The decoders in
    /// flight bound how far the real sizes can overshoot.
    public mutating func reserve() -> Admission {
        if isClosed { return .closed }
        if isFull { return .full }
        reservedSubmissions += 1
        return .accepted
    }

    /// Gives back a reservation whose submission will not come (its body was refused).
    public mutating func cancelReservation() {
        precondition(reservedSubmissions > 0, "cancelReservation without reserve")
        reservedSubmissions -= 1
    }

    /// Queues `batch`. With `reserved` it takes the place a `reserve` granted and is
    /// accepted unless the queue closed meanwhile; otherwise it is refused when it would pass
    /// the bound (except into an idle queue).
    public mutating func enqueue(_ batch: WriteBatch, ticket: Ticket, reserved: Bool = false) -> Admission {
        if reserved {
            cancelReservation()
            let weight = itemsPerSubmission == 0 ? 1 : 0.25
            itemsPerSubmission += weight * (Double(batch.itemCount) - itemsPerSubmission)
        }
        if isClosed { return .closed }
        if !reserved, !isIdle, passesBound(adding: Double(batch.itemCount)) { return .full }
        pending.append((batch, ticket))
        queuedItems += batch.itemCount
        return .accepted
    }

    /// The next submissions to commit together, oldest first: at least one, then as many
    /// as fit in `groupLimit`. Empty when nothing is queued. `backlogged` tells whether
    /// more work was waiting or on its way (reserved): only such a commit measures the
    /// store's rate.
    public mutating func takeGroup() -> (submissions: [(batch: WriteBatch, ticket: Ticket)], backlogged: Bool) {
        let limit = groupLimit
        var taken = 0
        var items = 0
        for next in pending {
            if taken > 0, items + next.batch.itemCount > limit { break }
            taken += 1
            items += next.batch.itemCount
        }
        let group = Array(pending.prefix(taken))
        // The queue holds a few dozen submissions in practice (its bounds are in items), so
        // moving the rest down is cheap.
        pending.removeFirst(taken)
        queuedItems -= items
        inFlightItems += items
        return (group, !pending.isEmpty || reservedSubmissions > 0)
    }

    /// Ends a group taken by `takeGroup` (`items` of them), committed or not. A commit
    /// (`duration` non-nil) taken while more work waited feeds the rate estimate; commits of
    /// an idle store say nothing about its capacity. With `commitsInFlight` commits
    /// overlapping, the store's rate is that many times one commit's.
    public mutating func finishCommit(items: Int, duration: Duration?, backlogged: Bool) {
        inFlightItems = max(0, inFlightItems - items)
        guard let pacing, let duration, backlogged, items > 0 else { return }
        let seconds = max(duration.seconds, 0.000_1)
        let sample = Double(items) / seconds * Double(pacing.commitsInFlight)
        if let previous = commitRate {
            commitRate = previous + pacing.smoothing * (sample - previous)
        } else {
            commitRate = sample
        }
    }

    /// Refuses further submissions; queued ones are still handed out by `takeGroup`.
    public mutating func close() {
        isClosed = true
    }

    private static func clamp(_ value: Double, _ low: Int, _ high: Int) -> Int {
        guard value.isFinite else { return high }
        return Swift.min(Swift.max(Int(value.rounded()), low), high)
    }
}

/// How `GroupCommitQueue` bounds waiting in time.
public struct CommitPacing: Sendable, Equatable {
    /// The store's commits overlapping (`TelemetryStore.concurrentCommits`).
    public var commitsInFlight: Int
    /// Work admitted ahead of a new submission (being committed, queued, reserved), in time
    /// at the store's measured rate.
    public var maxWait: Duration
    /// One group's work, in time at one commit's measured rate.
    public var targetCommitTime: Duration
    /// A group is never cut below this many items (a commit has a fixed cost: a log flush).
    public var minItemsPerGroup: Int
    /// Weight of the newest commit in the rate estimate (exponential moving average).
    public var smoothing: Double

    public init(commitsInFlight: Int, maxWait: Duration = .milliseconds(500),
                targetCommitTime: Duration = .milliseconds(300), minItemsPerGroup: Int = 1_000,
                smoothing: Double = 0.25) {
        precondition(commitsInFlight > 0 && minItemsPerGroup > 0 && smoothing > 0 && smoothing <= 1)
        self.commitsInFlight = commitsInFlight
        self.maxWait = maxWait
        self.targetCommitTime = targetCommitTime
        self.minItemsPerGroup = minItemsPerGroup
        self.smoothing = smoothing
    }
}

extension Duration {
    fileprivate var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
