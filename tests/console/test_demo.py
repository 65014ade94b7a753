"""`vicoop demo`: SUMO traffic through an RSU to two vehicles that print what they receive, and
the cloud twin's dashboard, whose address the demo prints."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import urllib.request

import pytest

from console.demo import run_demo

pytest.importorskip("libsumo")


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return int(r.status), r.read()


async def test_demo_vehicles_print_what_they_receive_and_the_dashboard_shows_the_rsu() -> None:
    out = io.StringIO()
    demo = asyncio.create_task(run_demo(duration_s=8.0, out=out, port=0))
    while not (found := re.search(r"^dashboard: (http://\S+)/#token=(\S+)$", out.getvalue(), re.M)):
        assert not demo.done(), out.getvalue()
        await asyncio.sleep(0.1)
    base, token = found.group(1), found.group(2)
    status, page = await asyncio.to_thread(get, f"{base}/")
    assert status == 200 and b"vicoop" in page
    # The RSU publishes to the demo's twin through its cloud link: the dashboard's API sees it.
    rsus: list[dict[str, object]] = []
    while not any(r["rsu_id"] == "crossing-B1" and r["online"] for r in rsus):
        assert not demo.done(), out.getvalue()
        rsus = json.loads((await asyncio.to_thread(get, f"{base}/api/v1/rsus", token))[1])
        await asyncio.sleep(0.2)
    # ... with SUMO's signal colours: 60 s into the scenario (the warm-up) and for the next 27 s,
    # east-west has green and north-south red.
    colours: dict[str, str] = {}
    while not colours:
        assert not demo.done(), out.getvalue()
        found_b1 = [
            i
            for i in json.loads(
                (await asyncio.to_thread(get, f"{base}/api/v1/intersections", token))[1]
            )
            if i["intersection_id"] == "B1"
        ]
        colours = {g["approach"]: g["colour"] for i in found_b1 for g in i["signal"]}
        await asyncio.sleep(0.2)
    assert colours == {"north": "red", "south": "red", "east": "green", "west": "green"}
    await demo

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("dashboard: http://127.0.0.1:")
    sumo = next(line for line in lines if line.startswith("SUMO scenario"))
    assert sumo.startswith(
        "SUMO scenario crossing: RSU crossing-B1 fusing 4 radars and 4 cameras, streaming perception on 127.0.0.1:"
    )
    v1 = [line for line in lines if line.startswith("[vehicle-1] frame ")]
    v2 = [line for line in lines if line.startswith("[vehicle-2] frame ")]
    assert len(v1) >= 3 and len(v2) >= 1
    assert any(" car" in line for line in v1)  # SUMO's cars, tracked from the simulated sensors
    # vehicle-2 asked for cyclists, buses and trucks only.
    assert not any(word in line for line in v2 for word in (" car", " van", " unknown"))
    assert lines[-1].startswith("demo stopped: ") and "MOTA" in lines[-1]
    assert re.search(r"frames lost \d+, RSU publish ticks skipped \d+$", lines[-1])


def test_vicoop_demo_command_runs_and_stops_after_its_duration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "demo", "--duration", "2", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^dashboard: http://127\.0\.0\.1:\d+/#token=\S+$", result.stdout, re.M)
    assert "[vehicle-1] connected to RSU crossing-B1" in result.stdout
    assert "demo stopped:" in result.stdout
