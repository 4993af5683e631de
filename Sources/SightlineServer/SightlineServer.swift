import Alerting
import Exposition
import GRPCReceiver
import GrafanaAPI
import Hummingbird
import Ingest
import Logging
import NIOCore
import QueryAPI
import SelfTracing
import ServiceLifecycle
import Store
import Synchronization
import UnixSignals

/// The addresses Sightline listens on once started (ports resolved when 0 was asked for).
public struct BoundAddresses: Sendable, Equatable {
    public var otlpHost: String
    public var otlpPort: Int
    /// `nil` when the OTLP/gRPC receiver is off.
    public var grpcPort: Int?
    public var httpHost: String
    public var httpPort: Int
}

/// The whole of Sightline: store, batch writer, OTLP/HTTP and OTLP/gRPC receiver ports and API port, run as one
/// `ServiceGroup`. Shutdown runs in reverse order: the servers stop accepting and finish their
/// requests, then the writer commits what is queued, then the store closes.
public final class SightlineServer: Sendable {
    public let configuration: SightlineConfiguration
    private let store: any TelemetryStore
    private let alertDatabase: AlertDatabase
    private let group: ServiceGroup
    private let started: StartupBarrier
    private let logger: Logger

    /// Opens the store and applies migrations; `run()` then serves.
    public static func prepare(
        configuration: SightlineConfiguration,
        logger: Logger,
        gracefulShutdownSignals: [UnixSignal] = []
    ) async throws -> SightlineServer {
        let store = try await openStore(configuration, logger: logger)
        let alertDatabase: AlertDatabase
        do {
            try await store.migrate()
            alertDatabase = try await AlertDatabase.open(store: store, customSQLConcurrency: configuration.customSQLConcurrency,
                                                         logger: logger)
        } catch {
            try? await store.close()
            throw error
        }
        do {
            return try SightlineServer(configuration: configuration, store: store, alertDatabase: alertDatabase, logger: logger,
                                       signals: gracefulShutdownSignals)
        } catch {
            await alertDatabase.close()
            try? await store.close()
            throw error
        }
    }

    /// Opens the configured store without serving (`sightline migrate` uses this too).
    public static func openStore(_ configuration: SightlineConfiguration, logger: Logger) async throws -> any TelemetryStore {
        switch configuration.storage {
        case .sqlite(let path):
            return try await SQLiteStore.open(path: path, readTimeLimit: configuration.queryTimeout, logger: logger)
        case .postgres(let url):
            var postgres = try PostgresStore.Configuration(
                url: url, tls: configuration.postgresTLS, poolSize: configuration.postgresPoolSize,
                statementTimeout: .seconds(configuration.postgresStatementTimeoutSeconds), readTimeout: configuration.queryTimeout)
            postgres.rulesURL = configuration.rulesStorage
            if let readStorage = configuration.readStorage { try postgres.useReadStorage(url: readStorage) }
            return PostgresStore(configuration: postgres, logger: logger)
        }
    }

    private init(configuration: SightlineConfiguration, store: any TelemetryStore, alertDatabase: AlertDatabase, logger: Logger, signals: [UnixSignal]) throws {
        self.configuration = configuration
        self.store = store
        self.alertDatabase = alertDatabase
        self.logger = logger
        let started = StartupBarrier(expectsGRPC: configuration.grpcPort != nil)
        self.started = started

        // The live log stream: on SQLite the writer's commits feed it; on PostgreSQL, LISTEN
        // (which also sees other Sightlines on the database), so the writer does not
        // (`followsWriterCommits`).
        let logFeed = LogFeed(store: store, logger: logger)
        let feedCommits: @Sendable (WriteBatch) -> Void = { batch in
            guard !batch.logs.isEmpty else { return }
            logFeed.logsCommitted()
        }
        // /metrics: the writer's commits feed the span and LLM counters (after commit, never before).
        let metrics = SightlineMetrics(maxSeries: configuration.spanMetricsMaxSeries)
        let feedsLogStream = logFeed.followsWriterCommits
        let writer = BatchWriter(
            store: store,
            configuration: .init(queueCapacity: configuration.queueCapacity),
            logger: logger,
            metricsFactory: metrics.factory,
            afterCommit: { batch in
                metrics.committed(batch)
                if feedsLogStream { feedCommits(batch) }
            })
        // Grafana's Loki tail shares the feed and the port's WebSocket upgrades with the log stream.
        let lokiTail = LokiTail(store: store, feed: logFeed, logger: logger)
        let access = APIAccessPolicy(
            keys: configuration.apiKeys,
            openRoutes: APIRouter.openRoutes(traceContextTestRoute: configuration.tracecontextTestRoute),
            readOnlyPostRoutes: APIRouter.readOnlyPostRoutes,
            allowedHosts: HostAllowList.forBinding(configuration.httpHost, configured: configuration.allowedHosts))
        let logStream = LogStreamEndpoint(feed: logFeed, policy: access, logger: logger, otherRoutes: [lokiTail.route],
                                          stallLimit: configuration.liveClientStallLimit)
        var receiverConfiguration = OTLPReceiver.Configuration(
            maxBodyBytes: configuration.maxBodyBytes, maxInflatedBytes: configuration.maxInflatedBytes,
            ingestTokens: configuration.ingestTokens)
        receiverConfiguration.maxConcurrentDecodes = configuration.maxConcurrentDecodes
        receiverConfiguration.llmPrices = configuration.llmPrices
        let receiver = OTLPReceiver(configuration: receiverConfiguration, writer: writer, logger: logger,
                                    metricsFactory: metrics.factory)
        let otlp = Application(
            router: receiver.router(middleware: [
                RequestMetricsMiddleware(factory: metrics.factory),
                HostCheckMiddleware(allowedHosts: HostAllowList.forBinding(configuration.otlpHost, configured: configuration.allowedHosts)),
            ]),
            configuration: .init(address: .hostname(configuration.otlpHost, port: configuration.otlpPort),
                                 serverName: "sightline-otlp"),
            onServerRunning: { channel in started.set(otlpPort: channel.localAddress?.port ?? 0) },
            logger: logger)
        let api = Application(
            router: APIRouter.make(store: store, writer: writer, access: access,
                                   tracer: Self.selfTracer(writer: writer), logStream: logStream,
                                   traceContextTestRoute: configuration.tracecontextTestRoute, logger: logger,
                                   alerts: AlertsAPI(database: alertDatabase, logger: logger,
                                                     customSQLTimeout: configuration.alerting.customSQLTimeout,
                                                     egress: configuration.alerting.egress),
                                   metrics: MetricsEndpoint(metrics: metrics, queue: {
                                       (writer.queuedItems, writer.admissionLimit)
                                   }, otlp: OTLPExposition(metrics: store.queries.metrics, expiry: configuration.metricSeriesExpiry),
                                   readStorage: { store.readStorageStatus }),
                                   queryCountLimit: configuration.queryCountLimit),
            server: logStream.httpServer(),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort),
                                 serverName: "sightline"),
            onServerRunning: { channel in started.set(httpPort: channel.localAddress?.port ?? 0) },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let storeService = store.backgroundService { services.append(.init(service: storeService)) }
        services.append(.init(service: alertDatabase))
        services += [.init(service: logFeed), .init(service: writer), .init(service: otlp)]
        // OTLP/gRPC: the same receiver (tokens, admission, validation, commit) behind another transport.
        if let grpcPort = configuration.grpcPort {
            let service = OTLPGRPCService(receiver: receiver, maxUncompressedBytes: configuration.maxBodyBytes, logger: logger)
            services.append(.init(service: try OTLPGRPCServer(
                host: configuration.grpcHost, port: grpcPort, maxMessageBytes: configuration.maxInflatedBytes,
                service: service, onListening: { port in started.set(grpcPort: port) })))
        }
        services.append(.init(service: api))
        // Retention: after the writer, so it stops before the writer and the store.
        services.append(.init(service: RetentionWorker(retention: store.queries.retention, policy: configuration.retention,
                                                       metrics: metrics.retention, logger: logger)))
        // The alert evaluator: last, so it stops first at shutdown.
        if configuration.alerting.evaluatorEnabled {
            services.append(.init(service: Self.alertEvaluator(configuration.alerting, database: alertDatabase,
                                                               tracer: Self.selfTracer(writer: writer),
                                                               observer: Self.alertObserver(metrics), logger: logger)))
        }
        self.group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: signals,
            logger: logger))
    }

    /// The tracer of Sightline's own API requests: each finished span goes to the writer like
    /// any ingested span, without waiting (a full queue drops it rather than slow the API).
    static func selfTracer(writer: BatchWriter) -> SightlineTracer {
        SightlineTracer { request in
            let batch = request.writeBatch()
            Task { try? await writer.submit(batch) }
        }
    }

    /// Serves until graceful shutdown (a signal or `shutdown()`), then closes the store.
    public func run() async throws {
        let configuration = configuration
        let logger = logger
        let started = started
        async let announcement: Void = {
            guard let ports = await started.wait() else { return }
            let grpc = ports.grpc.map { " grpc=http://\(configuration.grpcHost):\($0)" } ?? " grpc=off"
            logger.info("Sightline started: otlp=http://\(configuration.otlpHost):\(ports.otlp) http=http://\(configuration.httpHost):\(ports.http) storage=\(configuration.storage)\(grpc)")
        }()
        do {
            try await group.run()
        } catch {
            started.fail()
            _ = await announcement
            // A service that failed may have stopped the group before the alert database's
            // own service ran, which closes it otherwise.
            await alertDatabase.close()
            try? await store.close()
            throw error
        }
        started.fail()
        _ = await announcement
        await alertDatabase.close()
        try await store.close()
    }

    /// Stops accepting, finishes in-flight requests and queued commits, then `run()` returns.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// The bound addresses, once both ports listen; `nil` if Sightline stopped first.
    public func addresses() async -> BoundAddresses? {
        guard let ports = await started.wait() else { return nil }
        return BoundAddresses(otlpHost: configuration.otlpHost, otlpPort: ports.otlp, grpcPort: ports.grpc,
                              httpHost: configuration.httpHost, httpPort: ports.http)
    }
}

/// Waits until every server listens (the gRPC one when it is on), and remembers their ports.
final class StartupBarrier: Sendable {
    typealias Ports = (otlp: Int, http: Int, grpc: Int?)

    private struct State {
        var otlp: Int?
        var http: Int?
        var grpc: Int?
        var failed = false
        var waiters: [CheckedContinuation<Ports?, Never>] = []
    }

    private let expectsGRPC: Bool
    private let state = Mutex(State())

    init(expectsGRPC: Bool = false) {
        self.expectsGRPC = expectsGRPC
    }

    func set(otlpPort: Int) { update { $0.otlp = otlpPort } }
    func set(httpPort: Int) { update { $0.http = httpPort } }
    func set(grpcPort: Int) { update { $0.grpc = grpcPort } }
    func fail() { update { $0.failed = true } }

    private func update(_ change: (inout State) -> Void) {
        let (waiters, result) = state.withLock { state -> ([CheckedContinuation<Ports?, Never>], Ports??) in
            change(&state)
            guard let result = outcome(state) else { return ([], nil) }
            defer { state.waiters = [] }
            return (state.waiters, result)
        }
        if let result { waiters.forEach { $0.resume(returning: result) } }
    }

    private func outcome(_ state: State) -> Ports?? {
        if let otlp = state.otlp, let http = state.http, !expectsGRPC || state.grpc != nil {
            return .some((otlp, http, state.grpc))
        }
        if state.failed { return .some(nil) }
        return nil
    }

    func wait() async -> Ports? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Ports?? in
                if let result = outcome(state) { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
