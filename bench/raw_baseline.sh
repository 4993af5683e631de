#!/usr/bin/env bash
# The database's own limit for the rows Sightline writes: copies the rows Sightline stored
# in one database into a fresh, identically migrated one, timed.
#   PostgreSQL: COPY (client-side \copy) of traces, then spans, then logs.
#   SQLite:     one transaction of prepared INSERTs per table (Python's sqlite3, C speed).
# Usage:
#   bench/raw_baseline.sh postgres SOURCE_URL TARGET_URL   (TARGET already migrated: sightline migrate)
#   bench/raw_baseline.sh sqlite SOURCE_DB TARGET_DB        (TARGET already migrated)
set -euo pipefail
kind=$1 source=$2 target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

spans_cols="trace_id, span_id, parent_span_id, operation_name, service_name, start_time, end_time, duration_ms, status, error_message, tags, logs, span_kind, trace_state, flags, status_code, start_time_unix_nano, end_time_unix_nano, attributes, events, links, resource, scope, dropped_attributes_count, dropped_events_count, dropped_links_count"
traces_cols="trace_id, entry_point, endpoint, method, session_id, user_email, department, start_time, end_time, duration_ms, status, error_message, tags, start_time_unix_nano, end_time_unix_nano, service_name, root_span_name, context_from_root, context_start_unix_nano, updated_at"
logs_cols="timestamp, level, logger_name, message, trace_id, span_id, user_email, department, session_id, endpoint, extra, exception_type, exception_message, exception_traceback, time_unix_nano, observed_time_unix_nano, observed_timestamp, severity_number, severity_text, body, attributes, resource, scope, flags, event_name, dropped_attributes_count, service_name"

case "$kind" in
postgres)
    for table in traces trace_spans structured_logs; do
        cols_var="${table}_cols"; [ "$table" = trace_spans ] && cols_var=spans_cols; [ "$table" = structured_logs ] && cols_var=logs_cols
        psql "$source" -qAt -c "\\copy (SELECT ${!cols_var} FROM enterprise.$table) TO '$work/$table.copy'"
    done
    spans=$(wc -l <"$work/trace_spans.copy"); logs=$(wc -l <"$work/structured_logs.copy")
    start=$(date +%s.%N)
    for table in traces trace_spans structured_logs; do
        cols_var="${table}_cols"; [ "$table" = trace_spans ] && cols_var=spans_cols; [ "$table" = structured_logs ] && cols_var=logs_cols
        began=$(date +%s.%N)
        psql "$target" -q -v ON_ERROR_STOP=1 -c "\\copy enterprise.$table (${!cols_var}) FROM '$work/$table.copy'"
        python3 -c "import sys; rows=int(sys.argv[3]); d=float(sys.argv[2])-float(sys.argv[1]); print(f'  {sys.argv[4]}: {rows} rows in {d:.2f}s = {rows/d:,.0f} rows/s')" "$began" "$(date +%s.%N)" "$(wc -l <"$work/$table.copy")" "$table"
    done
    end=$(date +%s.%N)
    ;;
sqlite)
    read -r spans logs start end < <(python3 - "$source" "$target" "$traces_cols" "$spans_cols" "$logs_cols" <<'PY'
import sqlite3, sys, time
source, target, traces, spans, logs = sys.argv[1:]
src = sqlite3.connect(source)
dst = sqlite3.connect(target)
dst.execute("PRAGMA journal_mode=WAL"); dst.execute("PRAGMA synchronous=FULL"); dst.execute("PRAGMA foreign_keys=ON")
# The same settings as Sightline's SQLite store.
dst.execute("PRAGMA cache_size=-65536"); dst.execute("PRAGMA temp_store=MEMORY")
tables = [(t, c, src.execute(f"SELECT {c} FROM {t}").fetchall())
          for t, c in (("traces", traces), ("trace_spans", spans), ("structured_logs", logs))]
start = time.time()
for table, cols, rows in tables:
    began = time.time()
    with dst:
        marks = ",".join("?" * len(cols.split(",")))
        dst.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
    took = time.time() - began
    print(f"  {table}: {len(rows)} rows in {took:.2f}s = {len(rows) / took:,.0f} rows/s", file=sys.stderr)
print(len(tables[1][2]), len(tables[2][2]), start, time.time())
PY
)
    ;;
*) echo "usage: $0 postgres|sqlite SOURCE TARGET" >&2; exit 2 ;;
esac
python3 -c "import sys; s,e,sp,lg=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); d=e-s; print(f'raw {sys.argv[5]}: {sp} spans + {lg} logs in {d:.2f}s = {sp/d:,.0f} spans/s, {lg/d:,.0f} logs/s (rows/s {(sp+lg)/d:,.0f})')" "$start" "$end" "$spans" "$logs" "$kind"
