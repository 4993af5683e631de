import AsyncHTTPClient
import CompressNIO
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import OTLP

/// The timed part: `concurrency` workers, each sending one request at a time over its
/// keep-alive connection, until the duration is over or the requests are sent.
struct LoadRun: Sendable {
    let settings: LoadSettings
    let client: HTTPClient
    /// The OTLP/gRPC client, for `--transport grpc`.
    let grpc: GRPCClient<HTTP2ClientTransport.Posix>?
    let templates: [BodyTemplate]
    /// Makes this run's trace ids differ from every other run's (a database may hold several).
    let salt = UInt64.random(in: .min ... .max)

    /// The merged statistics and the time from the first request to the last answer.
    func run() async -> (RunStatistics, Duration) {
        let start = ContinuousClock.now
        let deadline = start + .seconds(settings.duration ?? settings.timeLimit)
        let dispatcher = Dispatcher(
            start: start, deadline: deadline, limit: settings.requests,
            interval: settings.rate > 0 ? .seconds(Double(settings.itemsPerRequest) / settings.rate) : nil)
        let statistics = await withTaskGroup(of: RunStatistics.self) { group in
            for _ in 0..<settings.concurrency {
                group.addTask { await worker(dispatcher, deadline: deadline) }
            }
            var merged = RunStatistics()
            for await statistics in group { merged.merge(statistics) }
            return merged
        }
        return (statistics, start.duration(to: .now))
    }

    private func worker(_ dispatcher: Dispatcher, deadline: ContinuousClock.Instant) async -> RunStatistics {
        var statistics = RunStatistics()
        while let ticket = await dispatcher.next() {
            if let notBefore = ticket.notBefore, notBefore > .now {
                try? await Task.sleep(until: notBefore, clock: .continuous)
            }
            await send(ticket.sequence, deadline: deadline, into: &statistics)
        }
        return statistics
    }

    /// Sends request number `sequence`, again after each 429/503 as its `Retry-After` says.
    private func send(_ sequence: UInt64, deadline: ContinuousClock.Instant, into statistics: inout RunStatistics) async {
        let template = templates[Int(sequence % UInt64(templates.count))]
        var body = template.body(sequence: sequence, salt: salt, stride: UInt64(settings.itemsPerRequest),
                                 nowUnixNano: UInt64(Date.now.timeIntervalSince1970 * 1e9))
        if let grpc {
            return await sendGRPC(Array(buffer: body), items: template.items, client: grpc, deadline: deadline, into: &statistics)
        }
        var request = HTTPClientRequest(url: settings.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: settings.encoding.contentType)
        request.headers.add(name: "User-Agent", value: "sightline-loadgen")
        if let token = settings.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if settings.gzip {
            do {
                body = try body.compress(with: .gzip())
            } catch {
                statistics.note("gzip: \(error)")
                return
            }
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        let size = body.readableBytes
        request.body = .bytes(body)

        var refusals = 0
        while true {
            statistics.attempts += 1
            statistics.sentBytes += size
            let began = ContinuousClock.now
            let response: HTTPClientResponse
            let answer: ByteBuffer
            do {
                response = try await client.execute(request, timeout: .milliseconds(Int64(settings.requestTimeout * 1000)))
                answer = try await response.body.collect(upTo: 1 << 20)
            } catch {
                statistics.transportErrors += 1
                statistics.note("transport error: \(error)")
                // Not retried (the server may have committed it); a short pause keeps a
                // refused connection from spinning.
                try? await Task.sleep(for: .milliseconds(200))
                return
            }
            let latency = began.duration(to: .now)
            let status = Int(response.status.code)
            switch status {
            case 200:
                statistics.latency.record(UInt64(max(0, latency.seconds * 1e6)))
                statistics.acceptedRequests += 1
                statistics.acceptedBytes += size
                let rejected = Self.rejectedItems(in: answer, contentType: response.headers.first(name: "Content-Type") ?? "")
                statistics.itemsRejected += rejected
                statistics.itemsAcknowledged += template.items - rejected
                return
            case 429, 503:
                if status == 429 { statistics.tooManyRequests += 1 } else { statistics.unavailable += 1 }
                let wait = Self.retryAfter(response.headers.first(name: "Retry-After"))
                refusals += 1
                if refusals > settings.maxRetries {
                    statistics.abandoned += 1
                    return
                }
                if .now + wait >= deadline {
                    // The run ends before the retry. Wait it out: taking the next request
                    // would only be refused again at once, and a worker would spin through
                    // hundreds of refusals in the last second.
                    statistics.abandoned += 1
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    return
                }
                try? await Task.sleep(for: wait)
            default:
                statistics.httpErrors[status, default: 0] += 1
                statistics.note("HTTP \(status): \(String(decoding: answer.readableBytesView.prefix(300), as: UTF8.self))")
                return
            }
        }
    }

    /// The gRPC form of `send`: `RESOURCE_EXHAUSTED` and `UNAVAILABLE` are counted as 429 and
    /// 503 and retried after their `RetryInfo` delay (`google.rpc.retryinfo-bin`, else 1 s).
    private func sendGRPC(_ message: [UInt8], items: Int, client: GRPCClient<HTTP2ClientTransport.Posix>,
                          deadline: ContinuousClock.Instant, into statistics: inout RunStatistics) async {
        let service = switch settings.signal {
        case .traces: "opentelemetry.proto.collector.trace.v1.TraceService"
        case .logs: "opentelemetry.proto.collector.logs.v1.LogsService"
        case .metrics: "opentelemetry.proto.collector.metrics.v1.MetricsService"
        }
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(settings.requestTimeout * 1000))
        if settings.gzip { options.compression = .gzip }
        var metadata: Metadata = [:]
        if let token = settings.token { metadata.addString("Bearer \(token)", forKey: "authorization") }
        var refusals = 0
        while true {
            statistics.attempts += 1
            statistics.sentBytes += message.count
            let began = ContinuousClock.now
            let result: Result<[UInt8], RPCError>
            do {
                result = try await client.unary(
                    request: ClientRequest(message: message, metadata: metadata),
                    descriptor: MethodDescriptor(fullyQualifiedService: service, method: "Export"),
                    serializer: RawMessage(), deserializer: RawMessage(), options: options
                ) { response in
                    switch response.accepted {
                    case .success(let contents): contents.message
                    case .failure(let error): .failure(error)
                    }
                }
            } catch {
                statistics.transportErrors += 1
                statistics.note("gRPC transport error: \(error)")
                try? await Task.sleep(for: .milliseconds(200))
                return
            }
            switch result {
            case .success(let answer):
                statistics.latency.record(UInt64(max(0, began.duration(to: .now).seconds * 1e6)))
                statistics.acceptedRequests += 1
                statistics.acceptedBytes += message.count
                let rejected = Int((try? OTLPProtobufResponse.partialSuccess(from: Data(answer)))?.rejected ?? 0)
                statistics.itemsRejected += rejected
                statistics.itemsAcknowledged += items - rejected
                return
            case .failure(let error) where error.code == .resourceExhausted || error.code == .unavailable:
                if error.code == .resourceExhausted { statistics.tooManyRequests += 1 } else { statistics.unavailable += 1 }
                let wait = Self.retryDelay(error.metadata[binaryValues: "google.rpc.retryinfo-bin"].first(where: { _ in true }))
                refusals += 1
                if refusals > settings.maxRetries || .now + wait >= deadline {
                    statistics.abandoned += 1
                    if refusals <= settings.maxRetries { try? await Task.sleep(until: deadline, clock: .continuous) }
                    return
                }
                try? await Task.sleep(for: wait)
            case .failure(let error):
                statistics.httpErrors[-error.code.rawValue, default: 0] += 1
                statistics.note("gRPC \(error.code): \(error.message.prefix(300))")
                return
            }
        }
    }

    /// The delay of a serialized `google.rpc.RetryInfo` (whole seconds of its `Duration`); 1 s when absent.
    static func retryDelay(_ retryInfo: [UInt8]?) -> Duration {
        // RetryInfo { 1: Duration { 1: seconds (varint) } }
        guard let bytes = retryInfo, bytes.count >= 4, bytes[0] == 0x0A, bytes[2] == 0x08 else { return .seconds(1) }
        var seconds = 0, shift = 0
        for byte in bytes[3...] {
            seconds |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return .seconds(seconds)
    }

    /// How long a `Retry-After` header asks to wait: seconds or an HTTP date; 1 s when absent or unreadable.
    static func retryAfter(_ header: String?) -> Duration {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return .seconds(1) }
        if let seconds = Int(header) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: header) { return .seconds(max(0, date.timeIntervalSinceNow)) }
        return .seconds(1)
    }

    /// The `partialSuccess` rejected count of a 200 answer (JSON or protobuf), 0 when absent.
    static func rejectedItems(in answer: ByteBuffer, contentType: String) -> Int {
        let data = Data(answer.readableBytesView)
        if contentType.lowercased().hasPrefix("application/x-protobuf") {
            return Int((try? OTLPProtobufResponse.partialSuccess(from: data))?.rejected ?? 0)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let partial = object["partialSuccess"] as? [String: Any] else { return 0 }
        for key in ["rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"] {
            if let text = partial[key] as? String, let count = Int(text) { return count }
            if let number = partial[key] as? NSNumber { return number.intValue }
        }
        return 0
    }
}

/// Hands out request numbers, and at a target rate the time each may start; none after the
/// deadline or beyond the request limit.
actor Dispatcher {
    struct Ticket {
        var sequence: UInt64
        var notBefore: ContinuousClock.Instant?
    }

    private let start: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant
    private let limit: Int?
    private let interval: Duration?
    private var issued = 0

    init(start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, limit: Int?, interval: Duration?) {
        self.start = start
        self.deadline = deadline
        self.limit = limit
        self.interval = interval
    }

    func next() -> Ticket? {
        if let limit, issued >= limit { return nil }
        let notBefore = interval.map { start + $0 * issued }
        guard (notBefore ?? .now) < deadline, ContinuousClock.now < deadline else { return nil }
        issued += 1
        return Ticket(sequence: UInt64(issued - 1), notBefore: notBefore)
    }
}

/// An OTLP message passed to and from gRPC as its bytes.
struct RawMessage: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}
