"""``vicoop --log-format json``: every line of a running RSU is a JSON object with its id."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from vicoop import logs

VICOOP = [sys.executable, "-m", "console.cli"]


def test_an_rsu_process_logs_json_lines_that_carry_its_id(tmp_path: Path) -> None:
    config = tmp_path / "rsu.yaml"
    config.write_text("rsu_id: pole-42\nserver:\n  port: 0\n  grace_period_s: 0.2\n")
    proc = subprocess.Popen(
        [*VICOOP, "--log-format", "json", "rsu", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        lines = []
        for raw in proc.stderr:  # until the daemon says it runs (its signal handlers are set)
            lines.append(json.loads(raw))
            if "publishing at" in lines[-1]["message"]:
                break
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines += [json.loads(line) for line in rest.splitlines() if line.strip()]
    first = lines[0]
    assert all(line["rsu_id"] == "pole-42" for line in lines), lines
    assert {"time", "level", "logger", "message"} <= set(first)
    assert any("metrics on http://127.0.0.1:" in line["message"] for line in lines)


def test_text_lines_name_the_bound_fields_and_json_keeps_tracebacks() -> None:
    contextvars.copy_context().run(_text_and_json)  # the bound field stays in there


def _text_and_json() -> None:
    out = io.StringIO()
    logs.configure("INFO", "text", out)
    logs.bind(worker="w-1")
    logging.getLogger("x").info("hello %d", 1)
    assert "x [worker=w-1]: hello 1" in out.getvalue()
    out = io.StringIO()
    logs.configure("INFO", "json", out)
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("x").exception("failed")
    line = json.loads(out.getvalue())
    assert line["worker"] == "w-1" and line["message"] == "failed"
    assert "ValueError: bad" in line["exc_info"]
    logging.basicConfig(force=True)
