"""Fixtures for the end-to-end conformance suite (docs/architecture.md, "Tests").

The suite builds nothing: it runs the `sightline` binary named by `SIGHTLINE_BIN`
(default `.build/debug/sightline` under the repository root) with both ports 0 on
127.0.0.1, and reads the ports back from the start-up line. Every wait is bounded in time.

Every test runs once per store (the `sightline` fixture is parametrised):
- `sqlite`: a fresh SQLite file, read back with Python's sqlite3;
- `postgres`: when `SIGHTLINE_CONFORMANCE_POSTGRES_URL` names a PostgreSQL server where the
  suite may create and drop databases (script/test sets it to its throwaway server; with
  CI=true it must be set). A fresh database is created with the `psql` CLI, Sightline runs on
  it, rows are read back through `psql` as JSON, and the database is dropped at the end.
Both stores answer `Sightline.query` with rows that behave like `sqlite3.Row`, so the tests
are written once.

`SIGHTLINE_CONFORMANCE_LOG_LEVEL` (e.g. `debug`) sets every Sightline's log level; the
Sightline environment is otherwise cleared of `SIGHTLINE_*` variables. A Sightline slower than
15 s to exit after SIGTERM is reported as a warning with what it logged meanwhile; one still
running after 30 s is killed and its test fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 30
# A graceful exit may take a while (the writer commits what is queued); past 15 s a warning in
# pytest's summary says how long and what the process logged meanwhile, and past 30 s the process
# is killed and the test fails. (The exits of about 60 s after the admin browser tests were a
# browser's preconnected socket on the API port: test_shutdown.py.)
SHUTDOWN_SLOW_S = 15
SHUTDOWN_TIMEOUT_S = 30
STARTED_LINE = re.compile(r"Sightline started: otlp=(http://\S+) http=(http://\S+) storage=(\S+)")
GRPC_IN_STARTED_LINE = re.compile(r" grpc=(http://\S+)")
POSTGRES_URL_VARIABLE = "SIGHTLINE_CONFORMANCE_POSTGRES_URL"
PSQL_TIMEOUT_S = 30


def sightline_binary() -> Path:
    value = os.environ.get("SIGHTLINE_BIN")
    if not value:
        return REPO_ROOT / ".build" / "debug" / "sightline"
    path = Path(value)
    return path if path.is_absolute() or path.exists() else REPO_ROOT / path


class SQLiteStore:
    """A fresh SQLite file; Sightline writes it (WAL), the tests read it with sqlite3."""

    def __init__(self, db_path: Path):
        self.db_path = db_path
        self.storage = f"sqlite:{db_path}"

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

    def expected_storage(self, announced: str) -> bool:
        return announced == self.storage

    def drop(self) -> None:
        pass  # pytest's tmp_path_factory owns the folder


class JSONRow:
    """A row read through `row_to_json`, behaving like `sqlite3.Row`: `row["column"]`,
    `row[0]`, `dict(row)`, `tuple(row)` (values in column order)."""

    def __init__(self, values: dict):
        self._values = values
        self._columns = list(values)

    def keys(self) -> list[str]:
        return list(self._columns)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._values[self._columns[key]]
        return self._values[key]

    def __iter__(self):
        return iter(self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"JSONRow({self._values!r})"


def _sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return "'\\x" + bytes(value).hex() + "'::bytea"
    return "'" + str(value).replace("'", "''") + "'"


def _bind(sql: str, params: tuple) -> str:
    """Replaces each `?` outside quotes with the next parameter as an SQL literal."""
    out, rest, quote = [], list(params), None
    for char in sql:
        if quote:
            quote = None if char == quote else quote
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            if not rest:
                raise ValueError(f"more placeholders than parameters in: {sql}")
            out.append(_sql_literal(rest.pop(0)))
            continue
        out.append(char)
    if rest:
        raise ValueError(f"more parameters than placeholders in: {sql}")
    return "".join(out)


def _as_sqlite_value(value):
    """jsonb arrives as JSON objects and arrays; SQLite keeps JSON as text. Rows look alike."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


class PostgresStore:
    """A fresh database on a PostgreSQL server, created and dropped with `psql`. Tables are
    found unqualified (search_path `enterprise`), as through SQLite's attached database."""

    def __init__(self, server_url: str):
        psql = shutil.which("psql")
        if not psql:
            pytest.fail("psql not found (Debian package postgresql-client); needed for the PostgreSQL conformance run")
        self.psql = psql
        self.server_url = server_url
        self.database = f"sightline_conformance_{uuid.uuid4().hex[:12]}"
        parts = urllib.parse.urlsplit(server_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path=f"/{self.database}"))
        self.storage = self.url
        self._admin(f"CREATE DATABASE {self.database}")

    def _run(self, url: str, sql: str, search_path: str | None = None) -> str:
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        env["PGTZ"] = "UTC"
        env["PGCONNECT_TIMEOUT"] = "10"
        if search_path:
            env["PGOPTIONS"] = f"-c search_path={search_path}"
        try:
            done = subprocess.run(
                [self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PSQL_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"psql did not answer within {PSQL_TIMEOUT_S}s: {sql}")
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}) for: {sql}\n{done.stderr.strip()}")
        return done.stdout

    def _admin(self, sql: str) -> None:
        self._run(self.server_url, sql)

    def query(self, sql: str, params: tuple = ()) -> list[JSONRow]:
        bound = _bind(sql, params)
        output = self._run(self.url, f"SELECT row_to_json(q) FROM ({bound}) q", search_path="enterprise")
        return [
            JSONRow({column: _as_sqlite_value(value) for column, value in json.loads(line).items()})
            for line in output.splitlines() if line.strip()
        ]

    def expected_storage(self, announced: str) -> bool:
        # The start-up line drops the query (sslmode) and masks any password.
        return announced.startswith(("postgres://", "postgresql://")) and announced.endswith(f"/{self.database}")

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        # The role custom_sql rules log in as is the cluster's, named after the database.
        self._admin(f"DROP ROLE IF EXISTS sightline_rules_{self.database}")


@dataclass
class Sightline:
    process: subprocess.Popen
    otlp_url: str  # e.g. http://127.0.0.1:33261
    http_url: str
    store: SQLiteStore | PostgresStore
    stderr_lines: list[str]
    grpc_url: str = ""  # the OTLP/gRPC port, e.g. http://127.0.0.1:33262

    def query(self, sql: str, params: tuple = ()) -> list:
        """Rows of `sql` (`?` placeholders), read from the store Sightline writes to."""
        return self.store.query(sql, params)

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.stderr_lines[-lines:])


def _store_kinds() -> list[str]:
    """SQLite always; PostgreSQL when a server is configured, and always under CI (where a
    missing server fails the run instead of skipping it)."""
    wanted = os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true"
    return ["sqlite", "postgres"] if wanted else ["sqlite"]


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


@pytest.fixture(scope="session", params=_store_kinds())
def sightline(request, tmp_path_factory) -> Sightline:
    binary = sightline_binary()
    if not binary.is_file():
        pytest.fail(f"sightline binary not found at {binary} (set SIGHTLINE_BIN or build it first)")

    if request.param == "postgres":
        server_url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not server_url:
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set (script/test starts a throwaway PostgreSQL)")
        store = PostgresStore(server_url)
    else:
        store = SQLiteStore(tmp_path_factory.mktemp("sightline") / "conformance.db")
    try:
        yield from _serve(binary, store)
    finally:
        store.drop()


def _serve(binary: Path, store: SQLiteStore | PostgresStore, environment: dict[str, str] | None = None):
    """Runs Sightline on `store` until the generator is closed, with `environment` (e.g.
    `SIGHTLINE_API_KEYS`) added to its own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SIGHTLINE_")}
    # SIGHTLINE_CONFORMANCE_LOG_LEVEL=debug: every Sightline of the run logs at that level.
    if os.environ.get("SIGHTLINE_CONFORMANCE_LOG_LEVEL"):
        env["SIGHTLINE_LOG_LEVEL"] = os.environ["SIGHTLINE_CONFORMANCE_LOG_LEVEL"]
    env.update(environment or {})
    # Fixtures carry fixed, often old, times: kept (a retention of 0) unless a test sets one.
    for signal in ("TRACE", "LOG", "LLM", "ALERT_HISTORY", "REQUEST_METRICS", "SYSTEM_METRICS",
                   "RAG_METRICS", "CACHE_METRICS", "METRIC"):
        env.setdefault(f"SIGHTLINE_{signal}_RETENTION", "0")
    command = [
        str(binary), "serve",
        "--storage", store.storage,
        "--otlp-host", "127.0.0.1", "--otlp-port", "0",
        # `--grpc-port 0` turns gRPC off: a port free a moment ago instead.
        "--grpc-host", "127.0.0.1", "--grpc-port", str(_free_port()),
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
    grpc = GRPC_IN_STARTED_LINE.search(match[0].string)
    server = Sightline(process, otlp_url, http_url, store, lines, grpc_url=grpc.group(1) if grpc else "")

    try:
        assert store.expected_storage(storage), storage
        _wait_healthy(server)
        yield server
    finally:
        exit_code = _stop(process, lines)
        pump.join(5)
        assert exit_code == 0, (
            f"sightline exited with {exit_code} after SIGTERM; stderr:\n{server.log_tail()}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def _stop(process: subprocess.Popen, lines: list[str] | None = None) -> int | str:
    """SIGTERM, then wait (bounded); a process that does not stop is killed and reported. A slow
    exit is reported with what the process logged after the signal."""
    if process.poll() is not None:
        return process.returncode
    logged = len(lines) if lines is not None else 0
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = process.wait(SHUTDOWN_TIMEOUT_S)
        took = time.monotonic() - started
        if took > SHUTDOWN_SLOW_S:
            after = "".join((lines or [])[logged:])[-4000:]
            warnings.warn(f"sightline took {took:.1f} s to exit after SIGTERM (pid {process.pid}); "
                          f"it logged after the signal:\n{after}")
        return code
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        return f"no exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM (killed)"
