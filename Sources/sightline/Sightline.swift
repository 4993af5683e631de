import ArgumentParser
import Foundation
import Logging
import SightlineServer
import UnixSignals

/// `sightline`: an OpenTelemetry-compatible collector and observability backend.
@main
struct Sightline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightline",
        abstract: "OpenTelemetry-compatible collector and observability backend.",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self)
}

/// Options shared by every subcommand; each maps to a `Setting`.
struct SettingOptions: ParsableArguments {
    @Option(help: "sqlite:PATH or a postgres:// URL (SIGHTLINE_STORAGE).") var storage: String?
    @Option(help: "OTLP/HTTP receiver address (SIGHTLINE_OTLP_HOST).") var otlpHost: String?
    @Option(help: "OTLP/HTTP receiver port, 0 for any (SIGHTLINE_OTLP_PORT).") var otlpPort: String?
    @Option(help: "API address (SIGHTLINE_HTTP_HOST).") var httpHost: String?
    @Option(help: "API port, 0 for any (SIGHTLINE_HTTP_PORT).") var httpPort: String?
    @Option(help: "Request body limit on the wire (SIGHTLINE_MAX_BODY_BYTES).") var maxBodyBytes: String?
    @Option(help: "Request body limit after gzip/deflate (SIGHTLINE_MAX_INFLATED_BYTES).") var maxInflatedBytes: String?
    @Option(help: "Spans and log records waiting for a commit before 503 (SIGHTLINE_QUEUE_CAPACITY).") var queueCapacity: String?
    @Option(help: "Export requests decoded at once before 503 (SIGHTLINE_MAX_CONCURRENT_DECODES).") var maxConcurrentDecodes: String?
    @Option(help: "Matches trace and log lists count before total_capped (SIGHTLINE_QUERY_COUNT_LIMIT).") var queryCountLimit: String?
    @Option(help: "Seconds one read of the store may run before the API answers 422 (SIGHTLINE_QUERY_TIMEOUT).") var queryTimeout: String?
    @Flag(help: "Allow a non-loopback API address without API keys (SIGHTLINE_ALLOW_UNAUTHENTICATED).") var allowUnauthenticated = false
    @Flag(help: "Allow a non-loopback receiver address without ingest tokens (SIGHTLINE_ALLOW_UNAUTHENTICATED_INGEST).")
    var allowUnauthenticatedIngest = false
    @Option(help: "Host names both ports answer to besides their address and localhost, comma-separated (SIGHTLINE_ALLOWED_HOSTS).")
    var allowedHosts: String?
    @Option(help: "Log level (SIGHTLINE_LOG_LEVEL).") var logLevel: String?
    @Flag(help: "Serve POST /_test/tracecontext for the W3C Trace Context test suite, loopback only (SIGHTLINE_TRACECONTEXT_TEST_ROUTE).")
    var enableTracecontextTestRoute = false
    @Option(help: "PostgreSQL TLS: disable, prefer or require (SIGHTLINE_POSTGRES_TLS).") var postgresTls: String?
    @Option(help: "Most PostgreSQL connections, 3 of them the writer's (SIGHTLINE_POSTGRES_POOL_SIZE).") var postgresPoolSize: String?
    @Option(help: "Seconds one PostgreSQL statement may run (SIGHTLINE_POSTGRES_STATEMENT_TIMEOUT).") var postgresStatementTimeout: String?
    @Option(help: "Label sets per span/LLM metric family before overflow (SIGHTLINE_SPAN_METRICS_MAX_SERIES).") var spanMetricsMaxSeries: String?
    @Option(help: "LLM prices, MODEL=INPUT/OUTPUT USD per million tokens, comma-separated, or @FILE (SIGHTLINE_LLM_PRICES).") var llmPrices: String?
    @Option(help: "PostgreSQL URL of the role custom_sql alert rules log in as (SIGHTLINE_RULES_STORAGE).") var rulesStorage: String?
    @Option(help: "custom_sql statements running at once, previews and evaluations (SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY).")
    var alertCustomSqlConcurrency: String?

    var flags: [Setting: String] {
        var flags: [Setting: String] = [:]
        flags[.storage] = storage
        flags[.otlpHost] = otlpHost
        flags[.otlpPort] = otlpPort
        flags[.httpHost] = httpHost
        flags[.httpPort] = httpPort
        flags[.maxBodyBytes] = maxBodyBytes
        flags[.maxInflatedBytes] = maxInflatedBytes
        flags[.queueCapacity] = queueCapacity
        flags[.maxConcurrentDecodes] = maxConcurrentDecodes
        flags[.queryCountLimit] = queryCountLimit
        flags[.queryTimeout] = queryTimeout
        if allowUnauthenticated { flags[.allowUnauthenticated] = "true" }
        if allowUnauthenticatedIngest { flags[.allowUnauthenticatedIngest] = "true" }
        flags[.allowedHosts] = allowedHosts
        if enableTracecontextTestRoute { flags[.tracecontextTestRoute] = "true" }
        flags[.logLevel] = logLevel
        flags[.postgresTLS] = postgresTls
        flags[.postgresPoolSize] = postgresPoolSize
        flags[.postgresStatementTimeout] = postgresStatementTimeout
        flags[.spanMetricsMaxSeries] = spanMetricsMaxSeries
        flags[.llmPrices] = llmPrices
        flags[.rulesStorage] = rulesStorage
        flags[.alertCustomSQLConcurrency] = alertCustomSqlConcurrency
        return flags
    }

    /// The validated configuration and a logger; prints one line and exits on a bad setting.
    func resolve() throws -> (SightlineConfiguration, Logger) {
        do {
            let configuration = try SightlineConfiguration.resolve(
                flags: flags, environment: ProcessInfo.processInfo.environment)
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
            return (configuration, Logger(label: "sightline"))
        } catch {
            FileHandle.standardError.write(Data("sightline: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Receive, store and serve telemetry (the default).")

    @OptionGroup var options: SettingOptions

    func run() async throws {
        let (configuration, logger) = try options.resolve()
        logger.info("configuration: \(configuration.redactedDescription)")
        do {
            let server = try await SightlineServer.prepare(
                configuration: configuration, logger: logger, gracefulShutdownSignals: [.sigterm, .sigint])
            try await server.run()
        } catch {
            logger.critical("Sightline stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    @OptionGroup var options: SettingOptions
    @Flag(help: "Print the SQL an administrator runs to create the PostgreSQL role custom_sql alert rules log in as, and exit (nothing is migrated).")
    var printRulesRoleSql = false

    func run() async throws {
        let (configuration, logger) = try options.resolve()
        if printRulesRoleSql {
            guard let script = try SightlineServer.rulesRoleScript(configuration) else {
                FileHandle.standardError.write(Data("sightline: --print-rules-role-sql is only for PostgreSQL storage\n".utf8))
                throw ExitCode(2)
            }
            print(script)
            return
        }
        do {
            let store = try await SightlineServer.openStore(configuration, logger: logger)
            let applied = try await store.migrate()
            try await store.close()
            logger.info("migrations applied: \(applied.isEmpty ? "none (up to date)" : applied.joined(separator: ", "))")
        } catch {
            logger.critical("migration failed: \(error)")
            throw ExitCode(1)
        }
    }
}
