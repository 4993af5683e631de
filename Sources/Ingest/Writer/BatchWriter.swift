import CoreMetrics
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Why a submission was not committed. Every case is transient for the client (retry later).
public enum WriteRejection: Error, Sendable, Equatable {
    /// The queue is full (backpressure).
    case overloaded
    /// The store failed to commit.
    case storeUnavailable
    /// Sightline is shutting down.
    case shuttingDown
}

/// Group commit: concurrent submissions are committed together in one transaction, and
/// `submit` returns only once its rows are committed.
///
/// A `Service`: `run()` is the single writer loop. On graceful shutdown it refuses new
/// submissions, commits everything already queued, then returns.
public final class BatchWriter: Service, Sendable {
    public struct Configuration: Sendable {
        /// Items (spans plus log records) allowed to wait for a commit.
        public var queueCapacity: Int
        /// Items committed in one transaction at most: a request waits for the commit in
        /// progress and its own, so this bounds latency under load as much as the queue does
        /// (5,000 rows commit in about a quarter of a second; the raw baseline's databases
        /// reach their rate at 1,000–5,000 rows per transaction).
        public var maxItemsPerCommit: Int

        /// Work admitted ahead of a new submission, in time at the store's measured commit
        /// rate (see `GroupCommitQueue`); nil bounds the queue in items only.
        public var maxWait: Duration?
        /// One commit's work, in time at the measured rate (groups shrink on a slow store).
        public var targetCommitTime: Duration

        public init(queueCapacity: Int = 10_000, maxItemsPerCommit: Int = 5_000,
                    maxWait: Duration? = .milliseconds(500), targetCommitTime: Duration = .milliseconds(300)) {
            self.queueCapacity = queueCapacity
            self.maxItemsPerCommit = maxItemsPerCommit
            self.maxWait = maxWait
            self.targetCommitTime = targetCommitTime
        }
    }

    typealias Ticket = CheckedContinuation<Void, any Error>

    private let store: any TelemetryStore
    private let logger: Logger
    private let queue: Mutex<GroupCommitQueue<Ticket>>
    private let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let afterCommit: (@Sendable (WriteBatch) -> Void)?
    private let metrics: WriterMetrics

    /// `afterCommit` is called with the rows each commit added once it is durable, before the
    /// commit's submitters are answered (the live log stream reads them back on SQLite; span
    /// metrics count the spans): spans already stored are left out (see
    /// `TelemetryStore.commit`). It must return at once: the writer waits for it. `metricsFactory` receives batch size, commit latency and store errors.
    public init(store: any TelemetryStore, configuration: Configuration = .init(), logger: Logger,
                metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance,
                afterCommit: (@Sendable (WriteBatch) -> Void)? = nil) {
        self.metrics = WriterMetrics(factory: metricsFactory)
        self.store = store
        self.logger = logger
        self.afterCommit = afterCommit
        let pacing = configuration.maxWait.map {
            CommitPacing(commitsInFlight: max(1, store.concurrentCommits), maxWait: $0,
                         targetCommitTime: configuration.targetCommitTime)
        }
        self.queue = Mutex(GroupCommitQueue(capacity: configuration.queueCapacity,
                                            maxItemsPerGroup: configuration.maxItemsPerCommit, pacing: pacing))
        (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Items waiting for a commit.
    public var queuedItems: Int { queue.withLock { $0.queuedItems } }

    /// Items that may wait for a commit now: the queue's capacity, or less once the store's
    /// rate is measured (see `GroupCommitQueue`).
    public var admissionLimit: Int {
        queue.withLock { queue in
            min(queue.capacity, max(0, queue.admissionLimit - queue.inFlightItems))
        }
    }

    /// Whether new submissions would currently be accepted.
    public var isAccepting: Bool { queue.withLock { !$0.isClosed && !$0.isFull } }

    /// Reserves a place for a submission whose body is still to be read and decoded (see
    /// `GroupCommitQueue.reserve`): refused at once when the queue is full. Every granted
    /// reservation must end in `submit(_:reserved: true)` or `cancelReservation()`.
    public func reserve() throws(WriteRejection) {
        switch queue.withLock({ $0.reserve() }) {
        case .accepted: return
        case .full: throw .overloaded
        case .closed: throw .shuttingDown
        }
    }

    /// Gives back a reservation whose submission will not come.
    public func cancelReservation() {
        queue.withLock { $0.cancelReservation() }
    }

    /// Commits `batch`; returns once it is durable in the store. `reserved`: the place was
    /// taken by `reserve()`, and the batch is not refused for lack of room.
    public func submit(_ batch: WriteBatch, reserved: Bool = false) async throws(WriteRejection) {
        guard !batch.isEmpty else {
            if reserved { cancelReservation() }
            return
        }
        do {
            try await withCheckedThrowingContinuation { (continuation: Ticket) in
                switch queue.withLock({ $0.enqueue(batch, ticket: continuation, reserved: reserved) }) {
                case .accepted: wake.yield()
                case .full: continuation.resume(throwing: WriteRejection.overloaded)
                case .closed: continuation.resume(throwing: WriteRejection.shuttingDown)
                }
            }
        } catch let rejection as WriteRejection {
            throw rejection
        } catch {
            throw .storeUnavailable
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeUps {
                await drain()
            }
            await drain()
        } onGracefulShutdown: {
            self.queue.withLock { $0.close() }
            self.wake.finish()
        }
        logger.debug("batch writer stopped")
    }

    /// Commits until the queue is empty, at most `store.concurrentCommits` groups at a time; a
    /// group is taken when a commit can start, so it holds everything queued until then.
    private func drain() async {
        let limit = max(1, store.concurrentCommits)
        await withTaskGroup(of: Void.self) { commits in
            var running = 0
            while true {
                if running == limit {
                    await commits.next()
                    running -= 1
                }
                let (group, backlogged) = queue.withLock { $0.takeGroup() }
                if group.isEmpty {
                    guard running > 0 else { return }
                    await commits.next()
                    running -= 1
                    continue
                }
                running += 1
                commits.addTask {
                    let duration = await self.commit(group)
                    let items = group.reduce(0) { $0 + $1.batch.itemCount }
                    self.queue.withLock { $0.finishCommit(items: items, duration: duration, backlogged: backlogged) }
                }
            }
        }
    }

    /// Commits `group`; returns the duration of its commit, or nil when it failed (and its
    /// submissions were committed one by one, or failed).
    private func commit(_ group: [(batch: WriteBatch, ticket: Ticket)]) async -> Duration? {
        do {
            let combined = WriteBatch.combining(group.map(\.batch))
            let started = ContinuousClock.now
            let added: WriteBatch
            do {
                added = try await store.commit(combined)
            } catch {
                metrics.committed(items: combined.itemCount, since: started, failed: true)
                throw error
            }
            metrics.committed(items: combined.itemCount, since: started, failed: false)
            let duration = ContinuousClock.now - started
            // Counted before anyone is answered: a client that reads /metrics after its 200
            // finds its spans there.
            afterCommit?(added)
            for submission in group { submission.ticket.resume() }
            return duration
        } catch {
            logger.error("group commit failed", metadata: ["batch.submissions": "\(group.count)", "error": "\(error)"])
        }
        // Unreachable store: fail the whole group now (each one-by-one retry would wait out
        // the store's time limit again). Otherwise one submission may be the cause.
        let reachable: Bool
        do {
            try await store.ping()
            reachable = true
        } catch {
            reachable = false
        }
        guard group.count > 1, reachable else {
            for submission in group { submission.ticket.resume(throwing: WriteRejection.storeUnavailable) }
            return nil
        }
        // Commit one by one, so one bad submission cannot fail its neighbours.
        for submission in group {
            let started = ContinuousClock.now
            do {
                let added = try await store.commit(submission.batch)
                metrics.committed(items: submission.batch.itemCount, since: started, failed: false)
                afterCommit?(added)
                submission.ticket.resume()
            } catch {
                metrics.committed(items: submission.batch.itemCount, since: started, failed: true)
                submission.ticket.resume(throwing: WriteRejection.storeUnavailable)
            }
        }
        return nil
    }
}
