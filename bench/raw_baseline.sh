#!/usr/bin/env bash
# The database's own limit for the rows Sightline writes: copies the rows Sightline stored
# in one database into a fresh, identically migrated one, timed.
#   PostgreSQL: COPY (client-side \copy) in transactions on two psql sessions at once, as
#               Sightline has two group commits in flight on PostgreSQL.
#   SQLite:     prepared INSERTs (Python's sqlite3, C speed), one transaction at a time.
# Spans go in transactions of about 5,000 (cut where the trace changes), in the order Sightline
# stored them, each with the `traces` rows its spans are the first to name, written first: an ingest receives a trace's spans over
# time and must store the trace's row with them (a span's foreign key names it, and the trace
# is queryable once its spans are). Log records go in transactions of 5,000 too, on their own.
# The resources and scopes the rows reference (a few rows, docs/partitioning.md) are copied
# first, untimed: Sightline's writer has them cached too.
# Transactions of 5,000 rows are what Sightline's group commits hold at most: both then pay
# for a durable commit as often. Every row keeps the id Sightline gave it.
# --tables-apart: the baseline until 2026-12-05: every `traces` row first, in transactions of
# 5,000 traces, then the spans. No ingest can do that (it needs every span of every trace
# before the first commit); it writes the random-key index of trace ids in a tenth as many
# transactions, and is 12-20% faster on SQLite.
# Usage:
#   bench/raw_baseline.sh [--tables-apart] postgres SOURCE_URL TARGET_URL   (TARGET already migrated: sightline migrate)
#   bench/raw_baseline.sh [--tables-apart] sqlite SOURCE_DB TARGET_DB        (TARGET already migrated)
set -euo pipefail
layout=together
if [ "${1:-}" = --tables-apart ]; then layout=apart; shift; fi
kind=$1 source=$2 target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

spans_cols="id, trace_id, span_id, parent_span_id, operation_name, service_name, start_time, end_time, duration_ms, status, error_message, tags, logs, span_kind, trace_state, flags, status_code, start_time_unix_nano, end_time_unix_nano, attributes, events, links, resource_id, scope_id, dropped_attributes_count, dropped_events_count, dropped_links_count"
traces_cols="id, trace_id, entry_point, endpoint, method, session_id, user_email, department, start_time, end_time, duration_ms, status, error_message, tags, start_time_unix_nano, end_time_unix_nano, service_name, root_span_name, context_from_root, context_start_unix_nano, updated_at"
logs_cols="id, timestamp, level, logger_name, message, trace_id, span_id, user_email, department, session_id, endpoint, extra, exception_type, exception_message, exception_traceback, time_unix_nano, observed_time_unix_nano, observed_timestamp, severity_number, severity_text, body, attributes, resource_id, scope_id, flags, event_name, dropped_attributes_count, service_name"

# timed LABEL ROWS BEGAN: prints the rate of one step.
timed() {
    python3 -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'  {sys.argv[4]}: {n} rows in {d:.2f}s = {n/max(d, 1e-9):,.0f} rows/s')" \
        "$3" "$(date +%s.%N)" "$2" "$1"
}

case "$kind" in
postgres)
    psql "$source" -qAt -c "\\copy (SELECT $traces_cols FROM enterprise.traces ORDER BY id) TO '$work/traces.copy'"
    psql "$source" -qAt -c "\\copy (SELECT $spans_cols FROM enterprise.trace_spans ORDER BY id) TO '$work/trace_spans.copy'"
    psql "$source" -qAt -c "\\copy (SELECT $logs_cols FROM enterprise.structured_logs ORDER BY id) TO '$work/structured_logs.copy'"
    spans=$(wc -l <"$work/trace_spans.copy"); logs=$(wc -l <"$work/structured_logs.copy")
    for table in resources scopes; do
        psql "$source" -qAt -c "\\copy enterprise.$table TO '$work/$table.copy'"
        psql "$target" -qAt -v ON_ERROR_STOP=1 -c "\\copy enterprise.$table FROM '$work/$table.copy'"
    done
    # Two scripts per step, the transactions alternating between them: a step is the spans
    # (with their traces, or after them) or the log records.
    python3 - "$work" "$layout" "$traces_cols" "$spans_cols" "$logs_cols" <<'PY'
import sys
work, layout, traces_cols, spans_cols, logs_cols = sys.argv[1:]
def lines(table): return open(f"{work}/{table}.copy").read().splitlines(keepends=True)
def trace_id(line): return line.split("\t", 2)[1]
def write_step(step, transactions):
    scripts = [open(f"{work}/{step}.script.{n}", "w") for n in (0, 1)]
    for number, parts in enumerate(transactions):
        script = scripts[number % 2]
        script.write("BEGIN;\n")
        for table, columns, rows in parts:
            path = f"{work}/{step}.{number}.{table}"
            open(path, "w").writelines(rows)
            script.write(f"\\copy enterprise.{table} ({columns}) FROM '{path}'\n")
        script.write("COMMIT;\n")
    for script in scripts: script.close()
chunk = lambda rows: [rows[first:first + 5000] for first in range(0, len(rows), 5000)]
def by_trace(rows, trace_of):
    # About 5,000 spans a part, cut where the trace changes: the other session's transaction
    # in flight cannot see a trace row this one has not committed yet.
    parts, first = [], 0
    while first < len(rows):
        end = min(first + 5000, len(rows))
        while 0 < end < len(rows) and trace_of(rows[end]) == trace_of(rows[end - 1]): end += 1
        parts.append(rows[first:end]); first = end
    return parts
traces, spans, logs = lines("traces"), lines("trace_spans"), lines("structured_logs")
if layout == "apart":
    # Every trace committed before the first span: a step of its own (the two sessions of one
    # step run at once, so a span transaction beside the last trace one could name a trace
    # not committed yet).
    write_step("traces", [[("traces", traces_cols, part)] for part in chunk(traces)])
    transactions = [[("trace_spans", spans_cols, part)] for part in chunk(spans)]
else:
    by_id = {trace_id(line): line for line in traces}
    transactions = []
    for part in by_trace(spans, trace_id):
        named = []
        for line in part:
            row = by_id.pop(trace_id(line), None)
            if row is not None: named.append(row)
        transactions.append([("traces", traces_cols, named), ("trace_spans", spans_cols, part)])
    # Traces no stored span names (none are written so): after the spans.
    transactions += [[("traces", traces_cols, part)] for part in chunk(list(by_id.values()))]
write_step("spans", transactions)
write_step("logs", [[("structured_logs", logs_cols, part)] for part in chunk(logs)])
PY
    start=$(date +%s.%N)
    steps="spans logs"
    [ "$layout" = apart ] && steps="traces spans logs"
    for step in $steps; do
        # The spans' time counts from their traces' step when that comes first.
        [ "$step" = spans ] && [ "$layout" = apart ] || began=$(date +%s.%N)
        psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/$step.script.0" & first=$!
        psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/$step.script.1" & second=$!
        wait "$first"; wait "$second"
        if [ "$step" = traces ]; then
            :
        elif [ "$step" = spans ]; then
            timed "trace_spans and traces ($layout, $(wc -l <"$work/traces.copy") traces)" "$spans" "$began"
        else
            timed structured_logs "$logs" "$began"
        fi
    done
    end=$(date +%s.%N)
    ;;
sqlite)
    read -r spans logs start end < <(python3 - "$source" "$target" "$layout" "$traces_cols" "$spans_cols" "$logs_cols" <<'PY'
import sqlite3, sys, time
source, target, layout, traces_cols, spans_cols, logs_cols = sys.argv[1:]
src = sqlite3.connect(source)
dst = sqlite3.connect(target)
dst.execute("PRAGMA journal_mode=WAL"); dst.execute("PRAGMA synchronous=FULL"); dst.execute("PRAGMA foreign_keys=ON")
# The same settings as Sightline's SQLite writer connection (SQLiteStore.connectionPragmas and
# writerPragmas); the file, migrated by Sightline, has its page size (16 KiB).
dst.execute("PRAGMA cache_size=-65536"); dst.execute("PRAGMA temp_store=MEMORY")
dst.execute("PRAGMA wal_autocheckpoint=4096"); dst.execute("PRAGMA journal_size_limit=67108864")
for table in ("resources", "scopes"):
    with dst: dst.executemany(f"INSERT INTO {table} VALUES (?, ?)", src.execute(f"SELECT * FROM {table}").fetchall())
rows = lambda table, cols: src.execute(f"SELECT {cols} FROM {table} ORDER BY rowid").fetchall()
traces, spans, logs = rows("traces", traces_cols), rows("trace_spans", spans_cols), rows("structured_logs", logs_cols)
insert = lambda table, cols: f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * len(cols.split(',')))})"
insert_trace, insert_span, insert_log = insert("traces", traces_cols), insert("trace_spans", spans_cols), insert("structured_logs", logs_cols)
chunk = lambda rows: [rows[first:first + 5000] for first in range(0, len(rows), 5000)]
start = time.time()
if layout == "apart":
    for part in chunk(traces):
        with dst: dst.executemany(insert_trace, part)
    for part in chunk(spans):
        with dst: dst.executemany(insert_span, part)
else:
    by_id = {row[1]: row for row in traces}
    parts, first = [], 0
    while first < len(spans):  # about 5,000 spans a transaction, cut where the trace changes
        end = min(first + 5000, len(spans))
        while 0 < end < len(spans) and spans[end][1] == spans[end - 1][1]: end += 1
        parts.append(spans[first:end]); first = end
    for part in parts:
        named = []
        for span in part:
            row = by_id.pop(span[1], None)
            if row is not None: named.append(row)
        with dst:
            dst.executemany(insert_trace, named)
            dst.executemany(insert_span, part)
    for part in chunk(list(by_id.values())):
        with dst: dst.executemany(insert_trace, part)
took = time.time() - start
print(f"  trace_spans and traces ({layout}, {len(traces)} traces): {len(spans)} rows in {took:.2f}s = {len(spans) / max(took, 1e-9):,.0f} rows/s", file=sys.stderr)
began = time.time()
for part in chunk(logs):
    with dst: dst.executemany(insert_log, part)
took = time.time() - began
print(f"  structured_logs: {len(logs)} rows in {took:.2f}s = {len(logs) / max(took, 1e-9):,.0f} rows/s", file=sys.stderr)
print(len(spans), len(logs), start, time.time())
PY
)
    ;;
*) echo "usage: $0 [--tables-apart] postgres|sqlite SOURCE TARGET" >&2; exit 2 ;;
esac
python3 -c "import sys; s,e,sp,lg=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); d=e-s; print(f'raw {sys.argv[5]}: {sp} spans + {lg} logs in {d:.2f}s = {sp/d:,.0f} spans/s, {lg/d:,.0f} logs/s (rows/s {(sp+lg)/d:,.0f})')" "$start" "$end" "$spans" "$logs" "$kind"
