"""``vicoop cloud run`` as an operator starts it: a twin that cannot start says why on one line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

VICOOP = [sys.executable, "-m", "console.cli"]


def _start_failure(tmp_path: Path, *args: str, dev: bool = True) -> str:
    result = subprocess.run(
        [*VICOOP, "cloud", "run", *(["--dev"] if dev else []), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("vicoop: error: "), result.stderr
    return lines[-1]


def test_a_twin_without_tokens_outside_development_is_one_line(tmp_path: Path) -> None:
    line = _start_failure(tmp_path, "--port", "0", dev=False)
    assert line.startswith("vicoop: error: tokens: no API token is configured"), line
    assert "--dev" in line


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _start_failure(tmp_path, "--port", str(port))
    assert line == (
        f"vicoop: error: the control API cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_a_database_that_does_not_answer_is_one_line_without_its_password(
    tmp_path: Path,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        url = f"postgresql+psycopg://twin:s3cret@127.0.0.1:{port}/twin"
        line = _start_failure(tmp_path, "--port", "0", "--db-url", url)
    assert line.startswith(
        f"vicoop: error: cannot use the database postgresql+psycopg://twin:***@127.0.0.1:{port}/twin: "
    ), line
    assert "s3cret" not in line


def test_a_database_url_that_is_not_one_is_a_config_error(tmp_path: Path) -> None:
    line = _start_failure(tmp_path, "--port", "0", "--db-url", "not a url")
    assert line == (
        "vicoop: error: command line: db_url: Value error, not a database URL "
        "(e.g. postgresql+psycopg://user@host/db or sqlite:///file.sqlite3) (got 'not a url')"
    )
