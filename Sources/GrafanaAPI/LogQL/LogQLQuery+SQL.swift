import Store

/// The labels of a log stream, as the Loki endpoints show them, and where each comes from in
/// `enterprise.structured_logs l`:
///
/// | label | column |
/// |---|---|
/// | `service_name` | `service_name` |
/// | `level`, `detected_level` | `level`, in Loki's spelling: debug, info, warn, error, critical |
/// | `logger` | `logger_name` |
/// | `trace_id`, `span_id` | `trace_id`, `span_id` |
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
    /// Names clients use for each stored level.
    static let levelAliases: [String: String] = [
        "trace": "DEBUG", "debug": "DEBUG", "dbug": "DEBUG", "info": "INFO", "information": "INFO", "notice": "INFO",
        "warn": "WARNING", "warning": "WARNING", "error": "ERROR", "err": "ERROR", "eror": "ERROR",
        "critical": "CRITICAL", "crit": "CRITICAL", "fatal": "CRITICAL", "emerg": "CRITICAL", "alert": "CRITICAL",
    ]

    static func isKnown(_ name: String) -> Bool {
        ["service_name", "level", "detected_level", "logger", "trace_id", "span_id"].contains(name) || resourceLabels[name] != nil
    }

    /// The level's Loki name.
    public static func levelName(_ stored: String) -> String { levelNames[stored] ?? stored.lowercased() }

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
            switch sql.dialect {
            case .sqlite:
                return "(SELECT json_extract(a.value, '$.value.stringValue') FROM json_each(l.resource, '$.attributes') a WHERE json_extract(a.value, '$.key') = \(placeholder) LIMIT 1)"
            case .postgres:
                return "(SELECT a -> 'value' ->> 'stringValue' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.resource -> 'attributes') = 'array' THEN l.resource -> 'attributes' ELSE '[]'::jsonb END) a WHERE a ->> 'key' = \(placeholder) LIMIT 1)"
            }
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

extension LabelMatcher {
    /// A boolean SQL expression over row `l`. A label the stream lacks counts as "" (Loki's rule),
    /// so `!=` and `!~` select streams without it.
    func sql(_ builder: inout SQLBuilder) -> String {
        if name == "level" || name == "detected_level", op == .equal || op == .notEqual, !value.isEmpty {
            // On the stored column, so its index serves.
            guard let stored = LokiLabels.levelAliases[value.lowercased()] ?? LokiLabels.levelNames.keys.first(where: { $0 == value }) else {
                return op == .equal ? "1 = 0" : "1 = 1"
            }
            return "l.level \(op == .equal ? "=" : "<>") \(builder.bind(stored))"
        }
        guard let column = LokiLabels.valueSQL(name, &builder) else {
            return matches("") ? "1 = 1" : "1 = 0"
        }
        switch op {
        // `column` may hold a placeholder: it appears once in each condition (SQLite's `?` are positional).
        case .equal:
            return value.isEmpty ? "coalesce(\(column), '') = ''" : "\(column) = \(builder.bind(value))"
        case .notEqual:
            return "coalesce(\(column), '') <> \(builder.bind(value))"
        case .matches:
            return LogQLSQL.regex("coalesce(\(column), '')", LogQLRegex.anchored(value), &builder)
        case .notMatches:
            return "NOT " + LogQLSQL.regex("coalesce(\(column), '')", LogQLRegex.anchored(value), &builder)
        }
    }
}

extension LineFilter {
    func sql(_ builder: inout SQLBuilder) -> String {
        switch op {
        case .contains, .notContains:
            guard !value.isEmpty else { return "1 = 1" }
            let position = builder.dialect == .sqlite ? "instr(l.message, \(builder.bind(value)))" : "strpos(l.message, \(builder.bind(value)))"
            return op == .contains ? "\(position) > 0" : "\(position) = 0"
        case .matches:
            return LogQLSQL.regex("l.message", value, &builder)
        case .notMatches:
            return "NOT " + LogQLSQL.regex("l.message", value, &builder)
        }
    }
}

extension LogSelector {
    /// The conditions on row `l`, joined with AND.
    func sql(_ builder: inout SQLBuilder) -> String {
        var conditions: [String] = []
        for matcher in allMatchers {
            if matcher.name == "__error__" {
                // No stage here produces errors: `__error__` is always "".
                conditions.append(matcher.matches("") ? "1 = 1" : "1 = 0")
            } else {
                conditions.append(matcher.sql(&builder))
            }
        }
        for filter in lineFilters { conditions.append(filter.sql(&builder)) }
        return conditions.isEmpty ? "1 = 1" : conditions.joined(separator: " AND ")
    }
}

enum LogQLSQL {
    /// `value REGEXP pattern` (SQLite, the store's function) or `value ~ pattern` (PostgreSQL).
    static func regex(_ value: String, _ pattern: String, _ builder: inout SQLBuilder) -> String {
        switch builder.dialect {
        case .sqlite: return "(\(value) REGEXP \(builder.bind(pattern)))"
        case .postgres: return "(\(value) ~ \(builder.bind(pattern)))"
        }
    }
}
