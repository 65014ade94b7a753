"""Small real SUMO networks built by ``netconvert`` (the eclipse-sumo wheel's) for tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ARMS = {"N": (0, 200), "S": (0, -200), "E": (200, 0), "W": (-200, 0)}


def netconvert() -> Path:
    """The ``netconvert`` binary of the installed eclipse-sumo wheel (skips the test without)."""
    sumo = pytest.importorskip("sumo")
    binary = Path(sumo.SUMO_HOME) / "bin" / "netconvert"
    if not binary.exists():
        pytest.skip(f"no netconvert at {binary}")
    return binary


def four_arm_crossing(folder: Path, tls_type: str = "static") -> Path:
    """A signalised crossing ``C`` with four arms (N, S, E, W, 200 m, two lanes each way plus
    sidewalks and crossings), its traffic light ``C`` of ``tls_type`` (``static``,
    ``actuated``), and a route file ``x.rou.xml`` with through traffic on both axes. Returns
    the ``.net.xml``."""
    folder.mkdir(parents=True, exist_ok=True)
    nodes = [f'<node id="C" x="0" y="0" type="traffic_light" tlType="{tls_type}"/>']
    nodes += [f'<node id="{a}" x="{x}" y="{y}" type="priority"/>' for a, (x, y) in ARMS.items()]
    edges = [
        f'<edge id="{a}C" from="{a}" to="C" numLanes="2" speed="13.89"/>'
        f'<edge id="C{a}" from="C" to="{a}" numLanes="2" speed="13.89"/>'
        for a in ARMS
    ]
    (folder / "x.nod.xml").write_text("<nodes>" + "".join(nodes) + "</nodes>\n")
    (folder / "x.edg.xml").write_text("<edges>" + "".join(edges) + "</edges>\n")
    flows = "".join(
        f'<flow id="{a}{b}" begin="0" end="3600" period="9" from="{a}C" to="C{b}"/>'
        for a, b in [("N", "S"), ("S", "N"), ("E", "W"), ("W", "E")]
    )
    (folder / "x.rou.xml").write_text(f"<routes>{flows}</routes>\n")
    net = folder / "x.net.xml"
    subprocess.run(
        [
            str(netconvert()),
            "--node-files",
            str(folder / "x.nod.xml"),
            "--edge-files",
            str(folder / "x.edg.xml"),
            "--output-file",
            str(net),
            "--no-turnarounds",
            "true",
            "--sidewalks.guess",
            "true",
            "--crossings.guess",
            "true",
            "--no-warnings",
            "true",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return net
