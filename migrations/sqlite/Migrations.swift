// The SQLite migrations, embedded into the binary by the package manifest
// (`.embedInCode`). Add each new file to this list and to `migrationFiles` in Package.swift;
// a test checks the list against the folder.

/// The SQLite migrations in the order they apply: `(version, name, sql)`.
public let sqliteMigrations: [(version: String, name: String, sql: String)] = [
    ("007", "observability_tables", text(PackageResources._07_observability_tables_sql)),
    ("008", "tracing_tables", text(PackageResources._08_tracing_tables_sql)),
    ("009", "structured_logs", text(PackageResources._09_structured_logs_sql)),
    ("010", "alert_tables", text(PackageResources._10_alert_tables_sql)),
    ("011", "otlp_fidelity", text(PackageResources._11_otlp_fidelity_sql)),
    ("012", "alert_engine", text(PackageResources._12_alert_engine_sql)),
    ("013", "llm_call_spans", text(PackageResources._13_llm_call_spans_sql)),
    ("014", "query_indexes", text(PackageResources._14_query_indexes_sql)),
    ("015", "log_search_vector", text(PackageResources._15_log_search_vector_sql)),
    ("016", "events_in_logs", text(PackageResources._16_events_in_logs_sql)),
    ("017", "time_partitions", text(PackageResources._17_time_partitions_sql)),
    ("018", "metrics", text(PackageResources._18_metrics_sql)),
    ("019", "stored_contexts", text(PackageResources._19_stored_contexts_sql)),
    ("020", "error_group_minutes", text(PackageResources._20_error_group_minutes_sql)),
    ("021", "service_edge_minutes", text(PackageResources._21_service_edge_minutes_sql)),
    ("022", "metric_alerts_and_partitions", text(PackageResources._22_metric_alerts_and_partitions_sql)),
    ("023", "log_hour_index", text(PackageResources._23_log_hour_index_sql)),
    ("024", "attributes_in_tags", text(PackageResources._24_attributes_in_tags_sql)),
    ("025", "log_attributes_in_extra", text(PackageResources._25_log_attributes_in_extra_sql)),
    ("027", "service_rollups", text(PackageResources._27_service_rollups_sql)),
]

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
