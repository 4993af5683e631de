#!/usr/bin/env python3
"""Bytes on disk per span and per log record of a Sightline store (docs/performance.md).

    bench/store_bytes.py STORAGE [--json]

STORAGE is `sqlite:PATH` or a postgres:// URL. Every table of the `enterprise` schema counts with
its indexes (and, on PostgreSQL, its TOAST table and every partition):

- span tables: trace_spans, traces, span_operation_minutes (and llm_call_metrics, which the
  generated GenAI spans fill);
- log tables: structured_logs, its full-text index (SQLite: structured_logs_fts*), log_level_minutes;
- shared tables (resources and scopes, referenced by both signals): counted with each signal
  when only that signal has rows, otherwise split between them by row count.

SQLite: the bytes of the pages each table's and index's b-trees use (the `dbstat` table), that is
the file's growth without its free pages. PostgreSQL: `pg_total_relation_size` of each table
(indexes and TOAST included), partitions summed into their parent.
Prints `spans N, B bytes/span; logs M, B bytes/record` (and one JSON line with --json).
"""
import json
import subprocess
import sys

SPAN_TABLES = {"trace_spans", "traces", "span_operation_minutes", "llm_call_metrics"}
LOG_TABLES = {"structured_logs", "log_level_minutes"}
SHARED_TABLES = {"resources", "scopes"}


def family(table):
    if table in SPAN_TABLES:
        return "spans"
    if table in LOG_TABLES or table.startswith("structured_logs_fts"):
        return "logs"
    if table in SHARED_TABLES:
        return "shared"
    return None


def sqlite_sizes(path):
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
    sizes = {}
    for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        table = owner.get(name, name)
        if name.startswith("sqlite_autoindex_"):
            table = name[len("sqlite_autoindex_"):].rsplit("_", 1)[0]
        sizes[table] = sizes.get(table, 0) + size
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("trace_spans", "structured_logs")}
    return sizes, counts


def postgres_sizes(url):
    query = """
        SELECT coalesce(parent.relname, c.relname), sum(pg_total_relation_size(c.oid))
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'enterprise'
        LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
        LEFT JOIN pg_class parent ON parent.oid = i.inhparent
        WHERE c.relkind IN ('r', 'm')
        GROUP BY 1;
        SELECT 'count:trace_spans', count(*) FROM enterprise.trace_spans;
        SELECT 'count:structured_logs', count(*) FROM enterprise.structured_logs;
    """
    out = subprocess.run(["psql", url, "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
                         check=True, capture_output=True, text=True).stdout
    sizes, counts = {}, {}
    for line in out.splitlines():
        name, value = line.split("\t")
        if name.startswith("count:"):
            counts[name[len("count:"):]] = int(value)
        else:
            sizes[name] = int(value)
    return sizes, counts


def measure(storage):
    sizes, counts = sqlite_sizes(storage[len("sqlite:"):]) if storage.startswith("sqlite:") else postgres_sizes(storage)
    totals = {"spans": 0, "logs": 0, "shared": 0}
    for table, size in sizes.items():
        kind = family(table)
        if kind:
            totals[kind] += size
    spans, logs = counts["trace_spans"], counts["structured_logs"]
    span_share = spans / (spans + logs) if spans + logs else 0
    span_bytes = totals["spans"] + totals["shared"] * span_share
    log_bytes = totals["logs"] + totals["shared"] * (1 - span_share)
    return {
        "spans": spans, "span_bytes": int(span_bytes), "bytes_per_span": span_bytes / spans if spans else None,
        "logs": logs, "log_bytes": int(log_bytes), "bytes_per_log": log_bytes / logs if logs else None,
        "shared_bytes": totals["shared"], "tables": sizes,
    }


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    result = measure(args[0])
    per = lambda value: f"{value:,.0f}" if value is not None else "-"
    print(f"spans {result['spans']:,}, {per(result['bytes_per_span'])} bytes/span; "
          f"logs {result['logs']:,}, {per(result['bytes_per_log'])} bytes/record")
    if "--json" in sys.argv:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
