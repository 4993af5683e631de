import Foundation

/// One row of `enterprise.span_operation_minutes`: the spans of one operation of one service
/// that started in one minute, counted with their total and largest duration. The writer adds
/// the spans each commit inserts (never a re-sent one), in the same transaction, so the
/// summary's slowest operations read a few rows per minute instead of every span.
public struct SpanOperationMinute: Sendable, Equatable {
    /// The minute's start, in Unix nanoseconds (a multiple of 60 s).
    public var minuteUnixNano: Int64
    public var serviceName: String
    public var operationName: String
    public var calls: Int64
    public var totalMs: Double
    public var maxMs: Double

    public static let minuteNano: Int64 = 60_000_000_000

    /// The start of the minute holding `unixNano` (rounding down, also before 1970).
    public static func minute(of unixNano: Int64) -> Int64 {
        let quotient = unixNano / minuteNano
        return (unixNano % minuteNano < 0 ? quotient - 1 : quotient) * minuteNano
    }

    /// The spans grouped by minute, service and operation, in a stable order.
    public static func aggregate(_ spans: [SpanRow]) -> [SpanOperationMinute] {
        struct Key: Hashable { var minute: Int64; var service: String; var operation: String }
        var groups: [Key: SpanOperationMinute] = [:]
        for span in spans {
            let key = Key(minute: minute(of: span.startTimeUnixNano), service: span.serviceName, operation: span.operationName)
            let duration = span.durationMs
            if var group = groups[key] {
                group.calls += 1
                group.totalMs += duration
                group.maxMs = max(group.maxMs, duration)
                groups[key] = group
            } else {
                groups[key] = SpanOperationMinute(minuteUnixNano: key.minute, serviceName: key.service, operationName: key.operation,
                                                  calls: 1, totalMs: duration, maxMs: duration)
            }
        }
        return groups.values.sorted {
            ($0.minuteUnixNano, $0.serviceName, $0.operationName) < ($1.minuteUnixNano, $1.serviceName, $1.operationName)
        }
    }
}

/// One row of `enterprise.log_level_minutes`: how many log records of one service and level
/// have their timestamp in one minute (migration 027 added the service). The writer adds each
/// commit's records in the same transaction, so the level counts and a service's log chart read
/// a few rows per minute instead of every record.
public struct LogLevelMinute: Sendable, Equatable {
    public var minuteUnixNano: Int64
    /// The records' `service_name`.
    public var serviceName: String
    public var level: String
    public var count: Int64

    public static func aggregate(_ logs: [LogRow]) -> [LogLevelMinute] {
        struct Key: Hashable { var minute: Int64; var service: String; var level: String }
        var counts: [Key: Int64] = [:]
        for log in logs {
            let key = Key(minute: SpanOperationMinute.minute(of: log.timestampUnixNano), service: log.serviceName, level: log.level)
            counts[key, default: 0] += 1
        }
        return counts.map { LogLevelMinute(minuteUnixNano: $0.key.minute, serviceName: $0.key.service, level: $0.key.level, count: $0.value) }
            .sorted { ($0.minuteUnixNano, $0.serviceName, $0.level) < ($1.minuteUnixNano, $1.serviceName, $1.level) }
    }
}
