#!/usr/bin/env bash
# The database's own limit for the metric points Sightline writes: copies the `metric_points`
# rows Sightline stored into a fresh, identically migrated database, timed, in transactions of
# 5,000 points (what a group commit holds at most), in time order. The series the points name
# (`metric_series`) are copied first, untimed: Sightline's writer has them cached too.
#   PostgreSQL: COPY (client-side \copy) on two psql sessions at once, as Sightline has two
#               group commits in flight on PostgreSQL.
#   SQLite:     prepared INSERTs (Python's sqlite3), one transaction at a time, with Sightline's
#               writer settings.
# Usage:
#   bench/raw_baseline_metrics.sh postgres SOURCE_URL TARGET_URL   (TARGET already migrated: sightline migrate)
#   bench/raw_baseline_metrics.sh sqlite SOURCE_DB TARGET_DB        (TARGET already migrated)
# Prints "raw metrics KIND: N points in S s = R points/s".
set -euo pipefail
kind=$1 source=$2 target=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$kind" in
postgres)
    psql "$source" -qAt -c "\\copy enterprise.metric_series TO '$work/series.copy'"
    psql "$target" -qAt -v ON_ERROR_STOP=1 -c "\\copy enterprise.metric_series FROM '$work/series.copy'"
    psql "$source" -qAt -c "\\copy (SELECT * FROM enterprise.metric_points ORDER BY time_unix_nano, series_id) TO '$work/points.copy'"
    points=$(wc -l <"$work/points.copy")
    python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
rows = open(f"{work}/points.copy").read().splitlines(keepends=True)
scripts = [open(f"{work}/points.script.{n}", "w") for n in (0, 1)]
for number, first in enumerate(range(0, len(rows), 5000)):
    path = f"{work}/points.{number}"
    open(path, "w").writelines(rows[first:first + 5000])
    scripts[number % 2].write(f"BEGIN;\n\\copy enterprise.metric_points FROM '{path}'\nCOMMIT;\n")
for script in scripts: script.close()
PY
    start=$(date +%s.%N)
    psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/points.script.0" & first=$!
    psql "$target" -q -v ON_ERROR_STOP=1 -f "$work/points.script.1" & second=$!
    wait "$first"; wait "$second"
    end=$(date +%s.%N)
    ;;
sqlite)
    read -r points start end < <(python3 - "$source" "$target" <<'PY'
import sqlite3, sys, time
source, target = sys.argv[1:]
src = sqlite3.connect(source)
dst = sqlite3.connect(target)
dst.execute("PRAGMA journal_mode=WAL"); dst.execute("PRAGMA synchronous=FULL")
# Sightline's SQLite writer settings (SQLiteStore.connectionPragmas and writerPragmas).
dst.execute("PRAGMA cache_size=-65536"); dst.execute("PRAGMA temp_store=MEMORY")
dst.execute("PRAGMA wal_autocheckpoint=4096"); dst.execute("PRAGMA journal_size_limit=67108864")
with dst: dst.executemany(f"INSERT INTO metric_series VALUES ({','.join('?' * len(src.execute('SELECT * FROM metric_series LIMIT 1').description))})",
                          src.execute("SELECT * FROM metric_series").fetchall())
cursor = src.execute("SELECT * FROM metric_points ORDER BY time_unix_nano, series_id")
columns = len(cursor.description)
rows = cursor.fetchall()
insert = f"INSERT INTO metric_points VALUES ({','.join('?' * columns)})"
start = time.time()
for first in range(0, len(rows), 5000):
    with dst: dst.executemany(insert, rows[first:first + 5000])
print(len(rows), start, time.time())
PY
)
    ;;
*) echo "usage: $0 postgres|sqlite SOURCE TARGET" >&2; exit 2 ;;
esac
python3 -c "import sys; s,e,n=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); d=e-s; print(f'raw metrics {sys.argv[4]}: {n} points in {d:.2f}s = {n/max(d, 1e-9):,.0f} points/s')" "$start" "$end" "$points" "$kind"
