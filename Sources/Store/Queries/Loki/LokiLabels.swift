import Foundation

/// The labels of a log stream, as the Loki endpoints show them, and where each comes from in
/// a stored log record:
///
/// | label | from |
/// |---|---|
/// | `service_name` | the record's service |
/// | `level`, `detected_level` | its level, in Loki's spelling: debug, info, warn, error, critical |
/// | `logger` | its logger name |
/// | `trace_id`, `span_id` | its trace and span |
/// | `k8s_namespace_name`, `deployment_environment`, … | the resource attribute with dots (`resourceLabels`) |
///
/// Any other label is absent from every stream (so `{job="x"}` selects nothing, as in Loki).
public enum LokiLabels {
    /// Labels of every stream (series of metric queries are grouped by these by default).
    public static let streamLabels = ["service_name", "level", "logger"]
    /// Loki's default OTLP resource attributes that become labels, by label name.
    public static let resourceLabels: [String: String] = [
        "cloud_availability_zone": "cloud.availability_zone", "cloud_region": "cloud.region",
        "container_name": "container.name", "deployment_environment": "deployment.environment",
        "deployment_environment_name": "deployment.environment.name", "k8s_cluster_name": "k8s.cluster.name",
        "k8s_container_name": "k8s.container.name", "k8s_cronjob_name": "k8s.cronjob.name",
        "k8s_daemonset_name": "k8s.daemonset.name", "k8s_deployment_name": "k8s.deployment.name",
        "k8s_job_name": "k8s.job.name", "k8s_namespace_name": "k8s.namespace.name", "k8s_pod_name": "k8s.pod.name",
        "k8s_replicaset_name": "k8s.replicaset.name", "k8s_statefulset_name": "k8s.statefulset.name",
        "service_instance_id": "service.instance.id", "service_namespace": "service.namespace",
    ]
    /// The stored levels and their Loki names.
    public static let levelNames = ["DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error", "CRITICAL": "critical"]
    /// The stored level each name clients use stands for.
    public static let levelAliases: [String: String] = [
        "trace": "DEBUG", "debug": "DEBUG", "dbug": "DEBUG", "info": "INFO", "information": "INFO", "notice": "INFO",
        "warn": "WARNING", "warning": "WARNING", "error": "ERROR", "err": "ERROR", "eror": "ERROR",
        "critical": "CRITICAL", "crit": "CRITICAL", "fatal": "CRITICAL", "emerg": "CRITICAL", "alert": "CRITICAL",
    ]

    /// Whether a stream may have label `name` (any other is absent from every stream).
    public static func isStreamLabel(_ name: String) -> Bool {
        ["service_name", "level", "detected_level", "logger", "trace_id", "span_id"].contains(name) || resourceLabels[name] != nil
    }

    /// The level's Loki name.
    public static func levelName(_ stored: String) -> String { levelNames[stored] ?? stored.lowercased() }

    /// The labels of a stored record from its columns; `resources` remembers the labels of each
    /// resource text already read (few distinct resources: the JSON is read once each).
    static func labels(service: String?, level: String?, logger: String?, traceID: String?, resource: String?,
                       resources: inout [String: [String: String]]) -> [String: String] {
        var labels: [String: String] = [:]
        if let service, !service.isEmpty { labels["service_name"] = service }
        if let level { labels["level"] = levelName(level) }
        if let logger, !logger.isEmpty { labels["logger"] = logger }
        if let traceID, !traceID.isEmpty { labels["trace_id"] = traceID }
        if let resource, resource.contains("\"attributes\"") {
            if resources[resource] == nil { resources[resource] = resourceLabels(resource) }
            for (name, value) in resources[resource]! { labels[name] = value }
        }
        return labels
    }

    /// The resource attributes of `resourceLabels` in an OTLP/JSON resource object, by label name.
    static func resourceLabels(_ json: String) -> [String: String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let attributes = object["attributes"] as? [[String: Any]] else { return [:] }
        var labels: [String: String] = [:]
        for attribute in attributes {
            guard let key = attribute["key"] as? String,
                  let name = resourceLabels.first(where: { $0.value == key })?.key,
                  let value = (attribute["value"] as? [String: Any])?["stringValue"] as? String, !value.isEmpty else { continue }
            labels[name] = value
        }
        return labels
    }

    // MARK: SQL over a record `l` of `enterprise.structured_logs`

    /// SQL text giving the label's value for row `l` (NULL when the stream lacks it), or nil for
    /// a label no stream has.
    static func valueSQL(_ name: String, _ sql: inout SQLBuilder) -> String? {
        switch name {
        case "service_name": return "l.service_name"
        case "level", "detected_level":
            let cases = levelNames.sorted { $0.key < $1.key }.map { "WHEN '\($0.key)' THEN '\($0.value)'" }.joined(separator: " ")
            return "(CASE l.level \(cases) ELSE lower(l.level) END)"
        case "logger": return "l.logger_name"
        case "trace_id": return "l.trace_id"
        case "span_id": return "l.span_id"
        default:
            guard let key = resourceLabels[name] else { return nil }
            let placeholder = sql.bind(key)
            return "(SELECT \(sql.attributeString("a")) FROM \(sql.resourceAttributes(SQLBuilder.resource(of: "l"))) a WHERE \(sql.attributeKey("a")) = \(placeholder) LIMIT 1)"
        }
    }

    /// The time of row `l` in Unix nanoseconds: the record's time, else its observed time,
    /// else the stored timestamp (arrival).
    static func nanosSQL(_ dialect: SQLDialect) -> String {
        switch dialect {
        case .sqlite:
            return "(CASE WHEN l.time_unix_nano > 0 THEN l.time_unix_nano WHEN l.observed_time_unix_nano > 0 THEN l.observed_time_unix_nano ELSE CAST(round((julianday(l.timestamp) - 2440587.5) * 86400000000.0) AS INTEGER) * 1000 END)"
        case .postgres:
            return "(CASE WHEN l.time_unix_nano > 0 THEN l.time_unix_nano WHEN l.observed_time_unix_nano > 0 THEN l.observed_time_unix_nano ELSE (extract(epoch FROM l.timestamp) * 1000000)::bigint * 1000 END)"
        }
    }

    /// The size of the line in bytes.
    static func bytesSQL(_ dialect: SQLDialect) -> String {
        dialect == .sqlite ? "length(CAST(l.message AS BLOB))" : "octet_length(l.message)"
    }
}
