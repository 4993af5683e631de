import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Live log records for `GET /logs/stream`: each record once it is committed, fanned out to
/// the connected clients, each with its own filter and a bounded buffer.
///
/// Where records come from (`LogFeed+Sources.swift`): on SQLite the writer calls
/// `logsCommitted()` after each commit and the feed reads the new rows back (by rowid), so
/// they carry their ids; on PostgreSQL it LISTENs on `new_log`, whose trigger fires for every
/// insert, by this Sightline or another one on the same database, and reads the rows named.
///
/// Ingest never waits for a client: `logsCommitted()` only signals, and a client that falls
/// more than `bufferPerSubscriber` messages behind loses the oldest ones, counted in a
/// `{"notice": "dropped N records"}` it receives next.
///
/// A `Service`: `run()` reads the source until graceful shutdown, then ends every stream.
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
        /// None yet: the subscription is being set up.
        case pending
        /// Those after this position in the store's insertion order (SQLite rowid).
        case after(Int64)
        /// None until the listener receives this fence, then all (PostgreSQL: the fence was
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
        /// PostgreSQL: LISTEN is in place, so fences arrive.
        var listening = false
        /// PostgreSQL: LISTEN was lost since it was last in place.
        var interrupted = false
        /// PostgreSQL: the transactions whose records were published last (see `readRange`).
        var publishedTransactions: [String] = []
    }

    let store: any TelemetryStore
    public let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())
    let commits: AsyncStream<Void>
    let commitSignal: AsyncStream<Void>.Continuation

    public init(store: any TelemetryStore, configuration: Configuration = .init(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        (commits, commitSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Connected stream clients.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Whether a new client would be refused.
    var isFull: Bool { state.withLock { $0.closed || $0.subscribers.count >= configuration.maxSubscribers } }

    /// The writer committed log records (SQLite): read them back and publish them. Never waits.
    public func logsCommitted() {
        commitSignal.yield()
    }

    /// A subscription to the records committed from now on that `filter` accepts: on return,
    /// every record committed later reaches it, none committed earlier does.
    public func subscribe(_ filter: LogStreamFilter) async throws(QueryFailure) -> LogSubscription {
        switch store.dialect {
        case .sqlite:
            let subscription = try register(filter) { _ in .pending }
            do {
                let rows = try await store.read(ReadQuery(
                    sql: "SELECT coalesce(max(rowid), 0) AS sequence FROM enterprise.structured_logs"))
                setStart(subscription.id, .after(rows.first?["sequence"].int ?? 0))
            } catch {
                warn("log stream subscription failed", error)
                subscription.cancel()
                throw .storeUnavailable
            }
            commitSignal.yield()
            return subscription
        case .postgres:
            // Right after start-up LISTEN may not be in place yet; while the database is down
            // it will not be soon, so the wait is short.
            for _ in 0..<250 where !state.withLock({ $0.listening }) {
                try? await Task.sleep(for: .milliseconds(20))
            }
            let token = UUID().uuidString.lowercased()
            let subscription = try register(filter) { listening in listening ? .fence(token) : .all }
            do {
                // Through the pool; notifications reach listeners in commit order, so every
                // record committed before this fence is announced before it.
                _ = try await store.read(ReadQuery(sql: "SELECT pg_notify('new_log', $1)::text AS sent",
                                                   binds: [.text(Self.fencePayload(token))]))
            } catch {
                setStart(subscription.id, .all)
            }
            return subscription
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            if self.store.dialect == .postgres, let postgres = self.store as? PostgresStore {
                await self.listen(postgres)
            } else {
                await self.tail()
            }
        }
        close()
        logger.debug("log feed stopped")
    }

    // MARK: Subscribers

    private func register(_ filter: LogStreamFilter, start: (_ listening: Bool) -> Start) throws(QueryFailure) -> LogSubscription {
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
            state.subscribers[id] = Subscriber(filter: filter, start: start(state.listening),
                                               continuation: continuation, drops: drops)
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

    static func fencePayload(_ token: String) -> String { "{\"fence\":\"\(token)\"}" }

    /// Logs a store failure without SQL or data.
    func warn(_ message: Logger.Message, _ error: any Error) {
        logger.warning(message, metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
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
