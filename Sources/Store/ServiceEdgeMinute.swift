import Foundation

/// One row of `enterprise.service_edge_minutes`: the calls from one service to another whose
/// callee span started in one minute and whose duration falls in one latency bucket. A call is
/// a parent span in the client's service with a child span in another service (the server);
/// the child's status and duration are the call's. A trace's root span is a call from no
/// service (`client` empty) to its own: the requests a service takes from outside.
///
/// The writer adds a call in the commit that stores the later of its two spans (either order,
/// or both together), so every pair of stored spans is counted once; the service map
/// (`ServiceGraphQueries`) reads a few rows per edge and minute instead of every span.
public struct ServiceEdgeMinute: Sendable, Equatable {
    /// The minute's start, in Unix nanoseconds (a multiple of 60 s).
    public var minuteUnixNano: Int64
    /// The caller's service; empty for trace roots.
    public var client: String
    public var server: String
    /// The index of the call duration's bucket in `bucketBoundsMs` (the last: above them all).
    public var bucket: Int
    public var calls: Int64
    public var errors: Int64
    public var totalMs: Double
    public var maxMs: Double

    /// The buckets' upper bounds in milliseconds (a duration equal to a bound is in its bucket);
    /// one more bucket holds what is above the last. About 2 to 2.5 times apart, so a percentile
    /// read from them is within its bucket's range (and never above the bucket's largest call).
    public static let bucketBoundsMs: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000]

    /// The bucket of a call lasting `durationMs`.
    public static func bucket(durationMs: Double) -> Int {
        bucketBoundsMs.firstIndex { durationMs <= $0 } ?? bucketBoundsMs.count
    }

    public init(minuteUnixNano: Int64, client: String, server: String, bucket: Int, calls: Int64, errors: Int64,
                totalMs: Double, maxMs: Double) {
        self.minuteUnixNano = minuteUnixNano
        self.client = client
        self.server = server
        self.bucket = bucket
        self.calls = calls
        self.errors = errors
        self.totalMs = totalMs
        self.maxMs = maxMs
    }

    /// The calls grouped by minute, edge and bucket, in a stable order (the order the
    /// PostgreSQL upsert locks rows in).
    public static func aggregate(_ calls: [ServiceCall]) -> [ServiceEdgeMinute] {
        struct Key: Hashable { var minute: Int64; var client: String; var server: String; var bucket: Int }
        var rows: [Key: ServiceEdgeMinute] = [:]
        for call in calls {
            let key = Key(minute: SpanOperationMinute.minute(of: call.startUnixNano), client: call.client, server: call.server,
                          bucket: bucket(durationMs: call.durationMs))
            let errors: Int64 = call.failed ? 1 : 0
            if var row = rows[key] {
                row.calls += 1
                row.errors += errors
                row.totalMs += call.durationMs
                row.maxMs = max(row.maxMs, call.durationMs)
                rows[key] = row
            } else {
                rows[key] = ServiceEdgeMinute(minuteUnixNano: key.minute, client: key.client, server: key.server, bucket: key.bucket,
                                              calls: 1, errors: errors, totalMs: call.durationMs, maxMs: call.durationMs)
            }
        }
        return rows.values.sorted {
            ($0.minuteUnixNano, $0.client, $0.server, $0.bucket) < ($1.minuteUnixNano, $1.client, $1.server, $1.bucket)
        }
    }
}

/// One call between services (or into a service from outside, `client` empty), as the edge
/// rollups count it: the callee span's start, status and duration.
public struct ServiceCall: Sendable, Equatable {
    public var client: String
    public var server: String
    public var startUnixNano: Int64
    public var failed: Bool
    public var durationMs: Double
}

/// A span as the edge rollups pair it with its parent and children.
public struct ServiceCallSpan: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var service: String
    public var failed: Bool
    public var startUnixNano: Int64
    public var durationMs: Double

    public init(traceID: String, spanID: String, parentSpanID: String?, service: String, failed: Bool, startUnixNano: Int64,
                durationMs: Double) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.service = service
        self.failed = failed
        self.startUnixNano = startUnixNano
        self.durationMs = durationMs
    }

    init(_ span: SpanRow) {
        self.init(traceID: span.traceID, spanID: span.spanID, parentSpanID: span.parentSpanID, service: StoreText.safe(span.serviceName),
                  failed: span.status == "error", startUnixNano: span.startTimeUnixNano, durationMs: span.durationMs)
    }

    /// The calls a commit adds: `added` are the spans it inserts, `stored` the spans of their
    /// traces the store holds (those of the commit among them or not). A pair is counted when
    /// its later span is added: an added span with its parent (added or stored), a stored span
    /// with an added parent. Roots among `added` are calls from outside.
    public static func calls(added: [ServiceCallSpan], stored: [ServiceCallSpan]) -> [ServiceCall] {
        var byKey: [SpanKey: ServiceCallSpan] = [:]
        for span in stored { byKey[SpanKey(traceID: span.traceID, spanID: span.spanID)] = span }
        var addedKeys = Set<SpanKey>()
        for span in added {
            let key = SpanKey(traceID: span.traceID, spanID: span.spanID)
            byKey[key] = span
            addedKeys.insert(key)
        }
        var calls: [ServiceCall] = []
        func call(from client: String, to span: ServiceCallSpan) {
            calls.append(ServiceCall(client: client, server: span.service, startUnixNano: span.startUnixNano, failed: span.failed,
                                     durationMs: span.durationMs))
        }
        for span in added {
            guard let parentID = span.parentSpanID, !parentID.isEmpty else {
                call(from: "", to: span)
                continue
            }
            if let parent = byKey[SpanKey(traceID: span.traceID, spanID: parentID)], parent.service != span.service {
                call(from: parent.service, to: span)
            }
        }
        for span in stored where !addedKeys.contains(SpanKey(traceID: span.traceID, spanID: span.spanID)) {
            guard let parentID = span.parentSpanID, !parentID.isEmpty else { continue }
            let parentKey = SpanKey(traceID: span.traceID, spanID: parentID)
            if addedKeys.contains(parentKey), let parent = byKey[parentKey], parent.service != span.service {
                call(from: parent.service, to: span)
            }
        }
        return calls
    }
}
