#!/usr/bin/env python3
"""Ingest through 1, 2 and 3 Sightline replicas on one PostgreSQL database behind nginx
(docs/scaling.md). For each replica count: a fresh database on the PostgreSQL server named by
SIGHTLINE_CONFORMANCE_POSTGRES_URL (script/postgres-test-server prints one), that many
`sightline serve` processes, Debian's nginx in front (the config of conformance/fleet.py), then
`sightline-loadgen send` for traces and for logs (1000-item OTLP/JSON requests, 16 connections)
through nginx. Prints one JSON line per run (the load generator's own results) and a table.
Figures are printed, never asserted.

    SIGHTLINE_CONFORMANCE_POSTGRES_URL=postgres://… .venv/bin/python bench/fleet.py BIN_DIR [--duration S] [--replicas 1,2,3]

BIN_DIR holds `sightline` and `sightline-loadgen` (a release build for figures worth keeping:
`swift build -c release --product sightline --product sightline-loadgen`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conformance"))
from conftest import PostgresStore  # noqa: E402
from fleet import Nginx, Replica  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bin_dir")
    parser.add_argument("--duration", default="20")
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--concurrency", default="16")
    args = parser.parse_args()
    server_url = os.environ.get("SIGHTLINE_CONFORMANCE_POSTGRES_URL")
    if not server_url:
        sys.exit("bench/fleet.py: set SIGHTLINE_CONFORMANCE_POSTGRES_URL (script/postgres-test-server start NAME)")
    binary, loadgen = Path(args.bin_dir) / "sightline", Path(args.bin_dir) / "sightline-loadgen"
    rows = []
    with tempfile.TemporaryDirectory(prefix="sightline-fleet-bench.") as work:
        # Run as root, nginx's workers run as `nobody` and write request bodies larger than
        # their buffer (these are about 1 MB) to a folder under `work`: it must be reachable.
        os.chmod(work, 0o755)
        for count in (int(part) for part in args.replicas.split(",")):
            store = PostgresStore(server_url)
            replicas = [Replica(binary, store.storage, name=f"replica-{index}") for index in range(count)]
            nginx = None
            try:
                for replica in replicas:
                    replica.start()
                nginx = Nginx(Path(work) / f"nginx-{count}", [f"127.0.0.1:{replica.otlp_port}" for replica in replicas])
                nginx.start()
                for signal in ("traces", "logs"):
                    done = subprocess.run(
                        [str(loadgen), "send", "--url", nginx.url, "--signal", signal, "--duration", args.duration,
                         "--concurrency", args.concurrency, "--json"],
                        capture_output=True, text=True, timeout=int(args.duration) * 10 + 300)
                    result = json.loads(done.stdout.strip().splitlines()[-1])
                    print(json.dumps({"replicas": count, **result}), flush=True)
                    rows.append((count, signal, result))
            finally:
                if nginx:
                    nginx.stop()
                for replica in replicas:
                    replica.terminate()
                store.drop()
    print(f"\n| replicas | signal | items/s acknowledged | p50 ms | p99 ms | 503s |")
    print("|---|---|---|---|---|---|")
    for count, signal, result in rows:
        print(f"| {count} | {signal} | {result['items_per_s']:.0f} | {result['p50_ms']:.0f} | {result['p99_ms']:.0f} | {result['status_503']} |")


if __name__ == "__main__":
    main()
