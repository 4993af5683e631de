import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Live log records for `GET /logs/stream`: each record once it is committed, fanned out to
/// the connected clients, each with its own filter and a bounded buffer.
///
/// The store's `LogFeedSource` finds the records: on SQLite, after each of the writer's
/// commits (`followsWriterCommits`: the writer calls `logsCommitted()`), the rows past the last
/// one read; on PostgreSQL, those its `new_log` notices name, for every insert by this
/// Sightline or another one on the same database.
///
/// Ingest never waits for a client: `logsCommitted()` only signals, and a client that falls
/// more than `bufferPerSubscriber` messages behind loses the oldest ones, counted in a
/// `{"notice": "dropped N records"}` it receives next.
///
/// A `Service`: `run()` follows the source until graceful shutdown, then ends every stream.
public final class LogFeed: Service, Sendable {
    public struct Configuration: Sendable {
        /// Stream clients at once; more are refused with 503.
        public var maxSubscribers: Int
        /// Messages waiting for one client; beyond it the oldest are dropped.
        public var bufferPerSubscriber: Int

        public init(maxSubscribers: Int = 100, bufferPerSubscriber: Int = 1000) {
            self.maxSubscribers = maxSubscribers
            self.bufferPerSubscriber = bufferPerSubscriber
        }
    }

    /// Which records a subscriber receives, by when they were committed.
    enum Start: Equatable {
        /// None yet: the mark `token` is being placed (`LogFeedSource.mark`).
        case pending(String)
        /// Those after this position in the store's insertion order (SQLite rowid).
        case after(Int64)
        /// None until the source reports this fence, then all (PostgreSQL: the fence was
        /// committed after every record the subscriber must not see).
        case fence(String)
        /// All.
        case all
    }

    struct Subscriber {
        var filter: LogStreamFilter
        var start: Start
        let continuation: AsyncStream<String>.Continuation
        let drops: DropCounter

        func wants(_ record: LiveLogRecord) -> Bool {
            switch start {
            case .pending, .fence: return false
            case .after(let position): return (record.sequence ?? .max) > position && filter.matches(record)
            case .all: return filter.matches(record)
            }
        }
    }

    struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var closed = false
        /// The source listens (PostgreSQL: LISTEN is in place), so fences arrive.
        var listening = false
        /// The source stopped listening since it last did.
        var interrupted = false
    }

    let source: any LogFeedSource
    public let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())
    let commits: AsyncStream<Void>
    let commitSignal: AsyncStream<Void>.Continuation

    public init(source: any LogFeedSource, configuration: Configuration = .init(), logger: Logger) {
        self.source = source
        self.configuration = configuration
        self.logger = logger
        (commits, commitSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The feed of `store`'s log records.
    public convenience init(store: any TelemetryStore, configuration: Configuration = .init(), logger: Logger) {
        self.init(source: store.queries.logFeed, configuration: configuration, logger: logger)
    }

    /// Whether the writer must call `logsCommitted()` after each commit of log records.
    public var followsWriterCommits: Bool { source.followsWriterCommits }

    /// Connected stream clients.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Whether a new client would be refused.
    var isFull: Bool { state.withLock { $0.closed || $0.subscribers.count >= configuration.maxSubscribers } }

    /// The writer committed log records (`followsWriterCommits`): read them back and publish
    /// them. Never waits.
    public func logsCommitted() {
        commitSignal.yield()
    }

    /// A subscription to the records committed from now on that `filter` accepts: on return,
    /// every record committed later reaches it, none committed earlier does.
    public func subscribe(_ filter: LogStreamFilter) async throws(QueryFailure) -> LogSubscription {
        let token = UUID().uuidString.lowercased()
        let subscription = try register(filter, start: .pending(token))
        let mark: LogFeedMark
        do throws(StoreError) {
            mark = try await source.mark(token)
        } catch {
            warn("log stream subscription failed", error)
            subscription.cancel()
            throw .storeUnavailable
        }
        switch mark {
        case .after(let position):
            setStart(subscription.id, .after(position))
            commitSignal.yield()
        case .fence:
            // Unless the fence, or a lost LISTEN, has started it already.
            state.withLock { state in
                guard state.subscribers[subscription.id]?.start == .pending(token) else { return }
                state.subscribers[subscription.id]?.start = .fence(token)
            }
        case .now:
            setStart(subscription.id, .all)
        }
        return subscription
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.source.follow(commits: self.commits, demand: { self.demand() }, logger: self.logger) { event in
                self.received(event)
            }
        }
        close()
        logger.debug("log feed stopped")
    }

    // MARK: Subscribers

    private func register(_ filter: LogStreamFilter, start: Start) throws(QueryFailure) -> LogSubscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: String.self, bufferingPolicy: .bufferingNewest(configuration.bufferPerSubscriber))
        let drops = DropCounter()
        let id = try state.withLock { state throws(QueryFailure) -> Int in
            guard !state.closed else { throw QueryFailure(.serviceUnavailable, "shutting down") }
            guard state.subscribers.count < configuration.maxSubscribers else {
                throw QueryFailure(.serviceUnavailable, "too many log stream clients (\(configuration.maxSubscribers)); retry later")
            }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(filter: filter, start: start, continuation: continuation, drops: drops)
            return id
        }
        return LogSubscription(id: id, messages: stream, drops: drops, feed: self)
    }

    func setStart(_ id: Int, _ start: Start) {
        state.withLock { $0.subscribers[id]?.start = start }
    }

    func remove(_ id: Int) {
        let removed = state.withLock { $0.subscribers.removeValue(forKey: id) }
        removed?.continuation.finish()
    }

    /// Ends every stream and refuses new ones.
    private func close() {
        let subscribers = state.withLock { state in
            state.closed = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Hands `records` to every subscriber that wants them, without waiting.
    func publish(_ records: [LiveLogRecord]) {
        guard !records.isEmpty else { return }
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            for record in records where subscriber.wants(record) {
                if case .dropped = subscriber.continuation.yield(record.json) { subscriber.drops.add() }
            }
        }
    }

    /// Tells every started subscriber `text` (`{"notice": text}`).
    func notify(_ text: String) {
        let message = LogStreamNotice.json(text)
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            switch subscriber.start {
            case .pending, .fence: continue
            case .after, .all: subscriber.continuation.yield(message)
            }
        }
    }

    /// Logs a store failure without SQL or data.
    func warn(_ message: Logger.Message, _ error: any Error) {
        logger.warning(message, metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
    }
}

extension LogFeed {
    /// What the subscribers wait for: the records past the lowest position a started one waits
    /// past, else whatever comes next if one takes all, else nothing.
    func demand() -> LogFeedDemand {
        state.withLock { state in
            var lowest: Int64?
            var all = false
            for subscriber in state.subscribers.values {
                switch subscriber.start {
                case .after(let position): lowest = min(lowest ?? position, position)
                case .all: all = true
                case .pending, .fence: continue
                }
            }
            if let lowest { return .after(lowest) }
            return all ? .next : .nothing
        }
    }

    /// One event of the source.
    func received(_ event: LogFeedEvent) {
        switch event {
        case .records(let records):
            publish(records.map(LiveLogRecord.init))
        case .fence(let token):
            state.withLock { state in
                for (id, subscriber) in state.subscribers where subscriber.start == .fence(token) || subscriber.start == .pending(token) {
                    state.subscribers[id]?.start = .all
                }
            }
        case .listening:
            listening(true)
        case .notListening:
            listening(false)
        }
    }

    /// The source listens (or stopped). Either way no fence sent before may come: start the
    /// subscribers waiting for one now, and when it stopped, those still placing theirs. After
    /// a loss, tell clients that records may be missing.
    private func listening(_ listening: Bool) {
        let interrupted = state.withLock { state -> Bool in
            var wasInterrupted = false
            if listening {
                wasInterrupted = state.interrupted
                state.interrupted = false
            } else if state.listening {
                state.interrupted = true
            }
            state.listening = listening
            for (id, subscriber) in state.subscribers {
                switch subscriber.start {
                case .fence: state.subscribers[id]?.start = .all
                case .pending where !listening: state.subscribers[id]?.start = .all
                default: continue
                }
            }
            return wasInterrupted
        }
        if interrupted {
            notify("the connection to the database was lost and is back; records written meanwhile are not shown")
        }
    }
}

/// One stream client's records and notices, in order; the stream ends when the feed stops.
/// Cancelled (and its place freed) by `cancel()` or when released.
public final class LogSubscription: Sendable {
    let id: Int
    public let messages: AsyncStream<String>
    let drops: DropCounter
    let feed: LogFeed

    init(id: Int, messages: AsyncStream<String>, drops: DropCounter, feed: LogFeed) {
        self.id = id
        self.messages = messages
        self.drops = drops
        self.feed = feed
    }

    /// Records dropped since the last call because the client fell behind.
    public func takeDropped() -> Int { drops.take() }

    public func cancel() { feed.remove(id) }

    deinit { feed.remove(id) }
}

/// Messages one subscriber lost to its full buffer.
final class DropCounter: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .relaxed) }

    func take() -> Int { count.exchange(0, ordering: .relaxed) }
}
