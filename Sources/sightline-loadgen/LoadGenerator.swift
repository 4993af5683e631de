import ArgumentParser
import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import OTLP

/// `sightline-loadgen`: `send` (the default) loads a running Sightline over OTLP/HTTP; `seed`
/// fills a store directly, for the query benchmark.
@main
struct SightlineLoadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightline-loadgen",
        abstract: "Benchmark tools: send OTLP/HTTP load to Sightline, seed a store for query benchmarks, or run retention periods against a store.",
        subcommands: [LoadGenerator.self, SeedCommand.self, SteadyStateCommand.self],
        defaultSubcommand: LoadGenerator.self)
}

/// `sightline-loadgen [send]`: sends realistic OTLP/HTTP traffic to a running Sightline (or any
/// OTLP receiver) and reports throughput, latency percentiles and backpressure.
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send realistic OTLP/HTTP traces, logs or metrics and report throughput, latency and backpressure.",
        discussion: """
            Request bodies are encoded before the timed part; each request then gets trace ids no \
            other request has and current timestamps. Each connection has one request in flight. \
            A 429 or 503 answer is retried after its Retry-After (counted apart from errors), so an \
            overload run measures backpressure. Latency is measured per accepted attempt, from \
            sending to the end of the answer.
            """)

    @Option(help: "Base URL of the OTLP/HTTP receiver.")
    var url = "http://127.0.0.1:4318"

    @Option(help: "traces, logs or metrics (metrics: protobuf only).")
    var signal: Signal = .traces

    @Option(help: "json or protobuf.")
    var encoding: BodyEncoding = .json

    @Option(help: "http (OTLP/HTTP) or grpc (OTLP/gRPC: protobuf messages, --url names the gRPC port, one HTTP/2 connection).")
    var transport: Transport = .http

    @Flag(help: "Send bodies gzip-compressed (compressed while sending: costs the generator CPU).")
    var gzip = false

    @Option(help: "Spans, log records or data points per request.")
    var itemsPerRequest = 1000

    @Option(help: "Connections, each with one request in flight.")
    var concurrency = 8

    @Option(help: "Seconds to send for (default 10 unless --requests is given).")
    var duration: Double?

    @Option(help: "Requests to send (each retried until accepted, within --max-retries and --time-limit).")
    var requests: Int?

    @Option(help: "Target items per second; 0 sends as fast as the server answers.")
    var rate: Double = 0

    @Option(help: "Ingest token, sent as Authorization: Bearer <token>.")
    var token: String?

    @Option(help: "Distinct request bodies to pre-generate.")
    var templates = 16

    @Option(help: "Seed for the generated traffic (ids are made unique per run regardless).")
    var seed: UInt64 = 1

    @Option(help: "429/503 answers after which one request is given up.")
    var maxRetries = 100

    @Option(help: "Seconds one request may take.")
    var requestTimeout: Double = 60

    @Option(help: "Seconds after which a --requests run stops sending, finished or not.")
    var timeLimit: Double = 600

    @Flag(help: "Also print the results as one line of JSON (the last line).")
    var json = false

    @Flag(help: "Exit with status 1 unless something was acknowledged and nothing failed (429/503 are not failures).")
    var strict = false

    func validate() throws {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ValidationError("--url \"\(url)\": expected an http:// or https:// URL")
        }
        if signal == .metrics, encoding != .protobuf { throw ValidationError("--signal metrics sends protobuf: add --encoding protobuf") }
        if transport == .grpc, encoding != .protobuf { throw ValidationError("--transport grpc sends protobuf: add --encoding protobuf") }
        guard (1...1_000_000).contains(itemsPerRequest) else { throw ValidationError("--items-per-request must be 1 to 1000000") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 1024") }
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration must be more than 0 and at most 86400 seconds") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
        guard (1...4096).contains(templates) else { throw ValidationError("--templates must be 1 to 4096") }
        guard maxRetries >= 0 else { throw ValidationError("--max-retries must be 0 or more") }
        guard requestTimeout > 0, requestTimeout <= 3600 else { throw ValidationError("--request-timeout must be more than 0 and at most 3600 seconds") }
        guard timeLimit > 0, timeLimit <= 86_400 else { throw ValidationError("--time-limit must be more than 0 and at most 86400 seconds") }
    }

    func run() async throws {
        let settings = LoadSettings(
            endpoint: url.trimmingSuffix("/") + (transport == .grpc ? "" : "/v1/" + signal.rawValue), transport: transport,
            signal: signal, encoding: encoding, gzip: gzip,
            itemsPerRequest: itemsPerRequest, concurrency: concurrency,
            duration: duration ?? (requests == nil ? 10 : nil), requests: requests, rate: rate, token: token,
            maxRetries: maxRetries, requestTimeout: requestTimeout, timeLimit: timeLimit)

        let pregenerationStart = ContinuousClock.now
        let bodies: [BodyTemplate]
        do {
            bodies = try Self.makeTemplates(settings, count: templates, seed: seed)
        } catch {
            FileHandle.standardError.write(Data("sightline-loadgen: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let pregeneration = pregenerationStart.duration(to: .now)

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        configuration.timeout = .init(connect: .seconds(5), read: .milliseconds(Int64(requestTimeout * 1000)))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        let cpuBefore = Self.processCPUSeconds()
        let (statistics, elapsed): (RunStatistics, Duration)
        switch transport {
        case .http:
            (statistics, elapsed) = await LoadRun(settings: settings, client: client, grpc: nil, templates: bodies).run()
        case .grpc:
            let target = URL(string: url)!
            let channel = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: target.host ?? "127.0.0.1", port: target.port ?? 4317), transportSecurity: .plaintext)
            (statistics, elapsed) = try await withGRPCClient(transport: channel) { grpc in
                await LoadRun(settings: settings, client: client, grpc: grpc, templates: bodies).run()
            }
        }
        let cpu = Self.processCPUSeconds() - cpuBefore
        try await client.shutdown()

        let report = RunReport(settings: settings, statistics: statistics, elapsedSeconds: elapsed.seconds,
                               pregenerationSeconds: pregeneration.seconds, generatorCPUSeconds: cpu)
        print(report.table)
        if json { print(report.json) }
        if strict, statistics.itemsAcknowledged == 0 || statistics.errorCount > 0 || statistics.itemsRejected > 0 {
            let summary = "\(statistics.itemsAcknowledged) items acknowledged, \(statistics.errorCount) errors, "
                + "\(statistics.itemsRejected) items rejected"
            FileHandle.standardError.write(Data("sightline-loadgen: --strict: \(summary)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// `count` distinct bodies from one seeded model; their timestamps lie in the minute before now.
    static func makeTemplates(_ settings: LoadSettings, count: Int, seed: UInt64) throws -> [BodyTemplate] {
        let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
        var model = TrafficModel(seed: seed, baseTimeUnixNano: now)
        return try (0..<count).map { _ in
            switch settings.signal {
            case .traces: try BodyTemplate(model.traces(spanCount: settings.itemsPerRequest), encoding: settings.encoding, baseTimeUnixNano: now)
            case .logs: try BodyTemplate(model.logs(recordCount: settings.itemsPerRequest), encoding: settings.encoding, baseTimeUnixNano: now)
            case .metrics: try BodyTemplate(model.metrics(pointCount: settings.itemsPerRequest), encoding: settings.encoding, baseTimeUnixNano: now)
            }
        }
    }

    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

enum Signal: String, CaseIterable, Sendable, ExpressibleByArgument {
    case traces, logs, metrics

    var itemName: String {
        switch self {
        case .traces: "spans"
        case .logs: "records"
        case .metrics: "points"
        }
    }
}

extension BodyEncoding: ExpressibleByArgument {}

enum Transport: String, CaseIterable, Sendable, ExpressibleByArgument {
    case http, grpc
}

/// The settings of one run, resolved from the command line.
struct LoadSettings: Sendable {
    /// The signal's URL over HTTP; the port's (`http://host:port`) over gRPC.
    var endpoint: String
    var transport: Transport
    var signal: Signal
    var encoding: BodyEncoding
    var gzip: Bool
    var itemsPerRequest: Int
    var concurrency: Int
    /// Seconds to send for; `nil` when only `requests` bounds the run.
    var duration: Double?
    var requests: Int?
    /// Target items per second; 0 for as fast as possible.
    var rate: Double
    var token: String?
    var maxRetries: Int
    var requestTimeout: Double
    var timeLimit: Double
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
