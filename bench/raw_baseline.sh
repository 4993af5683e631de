#!/usr/bin/env bash
# The database's own limit for the rows Sightline writes: copies the rows Sightline stored
# in one database into a fresh, identically migrated one, timed.
#   PostgreSQL: COPY (client-side \copy) of traces, then spans, then logs, in transactions of
#               5,000 rows (one \copy per 5,000 rows) on two psql sessions at once, as
#               Sightline has two group commits in flight on PostgreSQL.
#   SQLite:     prepared INSERTs (Python's sqlite3, C speed), a transaction per 5,000 rows.
# Every row keeps the id Sightline gave it. Transactions of 5,000 rows are what Sightline's
# group commits hold at most: both then pay for a durable commit as often.
# Usage:
#   bench/raw_baseline.sh postgres SOURCE_URL TARGET_URL   (TARGET already migrated: sightline migrate)
#   bench/raw_baseline.sh sqlite SOURCE_DB TARGET_DB        (TARGET already migrated)
set -euo pipefail
kind=$1 source=$2 target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

spans_cols="id, trace_id, span_id, parent_span_id, operation_name, service_name, start_time, end_time, duration_ms, status, error_message, tags, logs, span_kind, trace_state, flags, status_code, start_time_unix_nano, end_time_unix_nano, attributes, events, links, resource, scope, dropped_attributes_count, dropped_events_count, dropped_links_count"
traces_cols="id, trace_id, entry_point, endpoint, method, session_id, user_email, department, start_time, end_time, duration_ms, status, error_message, tags, start_time_unix_nano, end_time_unix_nano, service_name, root_span_name, context_from_root, context_start_unix_nano, updated_at"
logs_cols="id, timestamp, level, logger_name, message, trace_id, span_id, user_email, department, session_id, endpoint, extra, exception_type, exception_message, exception_traceback, time_unix_nano, observed_time_unix_nano, observed_timestamp, severity_number, severity_text, body, attributes, resource, scope, flags, event_name, dropped_attributes_count, service_name"

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
        rm -f "$work/$table.part."*
        split -l 5000 -d -a 5 "$work/$table.copy" "$work/$table.part."
        # Alternate parts between two sessions, as Sightline keeps two commits in flight.
        : >"$work/$table.script.0"; : >"$work/$table.script.1"
        n=0
        for part in "$work/$table.part."*; do
            [ -e "$part" ] || continue
            echo "\\copy enterprise.$table (${!cols_var}) FROM '$part'" >>"$work/$table.script.$((n % 2))"
            n=$((n + 1))
        done
        began=$(date +%s.%N)
        psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/$table.script.0" & first=$!
        psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/$table.script.1" & second=$!
        wait "$first"; wait "$second"
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
# The same settings as Sightline's SQLite writer connection (SQLiteStore.connectionPragmas and
# writerPragmas); the file, migrated by Sightline, has its page size (16 KiB).
dst.execute("PRAGMA cache_size=-65536"); dst.execute("PRAGMA temp_store=MEMORY")
dst.execute("PRAGMA wal_autocheckpoint=4096"); dst.execute("PRAGMA journal_size_limit=67108864")
tables = [(t, c, src.execute(f"SELECT {c} FROM {t}").fetchall())
          for t, c in (("traces", traces), ("trace_spans", spans), ("structured_logs", logs))]
start = time.time()
for table, cols, rows in tables:
    began = time.time()
    marks = ",".join("?" * len(cols.split(",")))
    for first in range(0, len(rows), 5000):
        with dst:
            dst.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows[first:first + 5000])
    took = time.time() - began
    print(f"  {table}: {len(rows)} rows in {took:.2f}s = {len(rows) / took:,.0f} rows/s", file=sys.stderr)
print(len(tables[1][2]), len(tables[2][2]), start, time.time())
PY
)
    ;;
*) echo "usage: $0 postgres|sqlite SOURCE TARGET" >&2; exit 2 ;;
esac
python3 -c "import sys; s,e,sp,lg=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]); d=e-s; print(f'raw {sys.argv[5]}: {sp} spans + {lg} logs in {d:.2f}s = {sp/d:,.0f} spans/s, {lg/d:,.0f} logs/s (rows/s {(sp+lg)/d:,.0f})')" "$start" "$end" "$spans" "$logs" "$kind"
