"""Fixtures for the end-to-end conformance suite (DESIGN §10).

The suite builds nothing: it runs the `sightline` binary named by `SIGHTLINE_BIN`
(default `.build/debug/sightline` under the repository root) on a fresh SQLite file,
with both ports 0 on 127.0.0.1, and reads the ports back from the start-up line.
Every wait is bounded in time.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 15
STARTED_LINE = re.compile(r"Sightline started: otlp=(http://\S+) http=(http://\S+) storage=(\S+)")


def sightline_binary() -> Path:
    value = os.environ.get("SIGHTLINE_BIN")
    if not value:
        return REPO_ROOT / ".build" / "debug" / "sightline"
    path = Path(value)
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


@dataclass
class Sightline:
    process: subprocess.Popen
    otlp_url: str  # e.g. http://127.0.0.1:33261
    http_url: str
    db_path: Path
    stderr_lines: list[str]

    def connect(self) -> sqlite3.Connection:
        """A fresh read connection to the store (the file is in WAL mode; Sightline writes it)."""
        connection = sqlite3.connect(self.db_path, timeout=5)
        connection.row_factory = sqlite3.Row
        return connection

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        connection = self.connect()
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.stderr_lines[-lines:])


def _pump(stream, sink: list[str], started: threading.Event, match: list) -> None:
    """Drain stderr so the pipe never fills; note the start-up line when it appears."""
    for line in iter(stream.readline, ""):
        sink.append(line)
        if not started.is_set():
            found = STARTED_LINE.search(line)
            if found:
                match.append(found)
                started.set()
    started.set()  # EOF: the process ended; the waiter checks `match`


@pytest.fixture(scope="session", autouse=True)
def _clean_exporter_environment():
    """Keep OTEL_* settings of the calling shell (headers, compression, endpoints) out of the tests."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("OTEL_"):
                patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def sightline(tmp_path_factory) -> Sightline:
    binary = sightline_binary()
    if not binary.is_file():
        pytest.fail(f"sightline binary not found at {binary} (set SIGHTLINE_BIN or build it first)")

    db_path = tmp_path_factory.mktemp("sightline") / "conformance.db"
    env = {name: value for name, value in os.environ.items() if not name.startswith("SIGHTLINE_")}
    command = [
        str(binary), "serve",
        "--storage", f"sqlite:{db_path}",
        "--otlp-host", "127.0.0.1", "--otlp-port", "0",
        "--http-host", "127.0.0.1", "--http-port", "0",
    ]
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, errors="replace",
    )
    lines: list[str] = []
    started = threading.Event()
    match: list = []
    pump = threading.Thread(target=_pump, args=(process.stderr, lines, started, match), daemon=True)
    pump.start()

    if not started.wait(STARTUP_TIMEOUT_S) or not match:
        process.kill()
        process.wait(5)
        pytest.fail(
            f"no 'Sightline started' line within {STARTUP_TIMEOUT_S}s "
            f"(exit code {process.poll()}); stderr:\n{''.join(lines)}"
        )
    otlp_url, http_url, storage = match[0].groups()
    server = Sightline(process, otlp_url, http_url, db_path, lines)
    assert storage == f"sqlite:{db_path}", storage

    try:
        _wait_healthy(server)
        yield server
    finally:
        exit_code = _stop(process)
        pump.join(5)
        assert exit_code == 0, (
            f"sightline exited with {exit_code} after SIGTERM; stderr:\n{server.log_tail()}"
        )


def _wait_healthy(server: Sightline, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    last = None
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{server.http_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
                last = response.status
        except OSError as error:  # URLError and HTTPError are OSErrors
            last = error
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    pytest.fail(f"GET /health never answered 200 (last: {last}); stderr:\n{server.log_tail()}")


def _stop(process: subprocess.Popen) -> int | str:
    """SIGTERM, then wait (bounded); a process that does not stop is killed and reported."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        return f"no exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM (killed)"
