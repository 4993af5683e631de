"""The `sightline` command line: invalid settings stop start-up with one line naming them."""

import os
import re
import subprocess

from conftest import REPO_ROOT, sightline_binary


def run(*arguments, environment=None):
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGHTLINE_")}
    env.update(environment or {})
    return subprocess.run([str(sightline_binary()), *arguments], env=env, capture_output=True,
                          text=True, timeout=30)


def test_an_invalid_flag_value_stops_startup_with_one_line_naming_it():
    result = run("serve", "--otlp-port", "abc", "--storage", "sqlite:/tmp/never-created/x.db")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == 'sightline: invalid configuration: --otlp-port="abc": expected a port number from 0 to 65535'
    assert not os.path.exists("/tmp/never-created")


def test_an_invalid_environment_variable_is_named():
    result = run(environment={"SIGHTLINE_MAX_BODY_BYTES": "lots", "SIGHTLINE_STORAGE": "sqlite:/tmp/never-created/x.db"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert 'SIGHTLINE_MAX_BODY_BYTES="lots"' in result.stderr


def test_a_password_in_a_bad_storage_url_is_not_printed():
    result = run("migrate", "--storage", "postgres://user:hunter2@/db")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr
    assert "SIGHTLINE_STORAGE" in result.stderr or "--storage" in result.stderr


def test_a_public_api_address_without_keys_is_refused():
    result = run("serve", "--http-host", "0.0.0.0", "--storage", "sqlite:/tmp/never-created/x.db")
    assert result.returncode == 2
    assert "--allow-unauthenticated" in result.stderr


def test_a_public_receiver_without_ingest_tokens_is_refused():
    result = run("serve", "--otlp-host", "0.0.0.0", "--storage", "sqlite:/tmp/never-created/x.db")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert '--otlp-host="0.0.0.0"' in lines[0]
    assert "SIGHTLINE_INGEST_TOKENS" in lines[0] and "--allow-unauthenticated-ingest" in lines[0]
    assert not os.path.exists("/tmp/never-created")


def test_a_public_receiver_starts_with_the_explicit_opt_out(tmp_path):
    # `migrate` resolves the same settings as `serve`, then exits: no port is opened.
    result = run("migrate", "--otlp-host", "0.0.0.0", "--allow-unauthenticated-ingest",
                 "--storage", f"sqlite:{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    result = run("migrate", "--storage", f"sqlite:{tmp_path}/y.db",
                 environment={"SIGHTLINE_OTLP_HOST": "0.0.0.0", "SIGHTLINE_INGEST_TOKENS": "t"})
    assert result.returncode == 0, result.stderr


def test_help_lists_every_flag_and_variable_of_the_readme():
    # The options come from the settings table, which a unit test holds to README.md; this
    # checks the built command shows them all.
    readme = (REPO_ROOT / "README.md").read_text()
    flags = re.findall(r"^\| `(--[a-z-]+)` \| `SIGHTLINE_", readme, re.MULTILINE)
    variables = re.findall(r"^\|(?: `--[a-z-]+`)? \| `([A-Z_]+)` \|", readme, re.MULTILINE)
    variables += re.findall(r"^\| `([A-Z_]+)` \| ", readme, re.MULTILINE)
    assert len(flags) > 20 and len(variables) > 40
    result = run("serve", "--help")
    assert result.returncode == 0, result.stderr
    for name in flags + variables:
        assert name in result.stdout, name


def test_an_unknown_option_is_refused_without_echoing_values():
    result = run("serve", "--no-such-setting=hunter2", "--storage", "sqlite:/tmp/never-created/x.db")
    assert result.returncode == 64
    assert "unknown option '--no-such-setting'" in result.stderr.lower()
    assert "hunter2" not in result.stderr
    result = run("serve", "postgres://user:hunter2@host/db")
    assert result.returncode == 64
    assert "hunter2" not in result.stderr
    assert not os.path.exists("/tmp/never-created")
