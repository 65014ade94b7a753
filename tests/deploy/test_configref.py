"""The configuration reference (docs/configuration.md) is what console.configref makes of the
configuration models today, and it names every field with its unit, default and bounds."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from console import configref

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "rsu" / "rsu.example.yaml"


def reference_rows() -> dict[str, list[str]]:
    """Each table row of the committed reference, by its dotted path: its other cells."""
    rows: dict[str, list[str]] = {}
    for line in configref.OUTPUT.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [c.strip() for c in re.split(r"(?<!\\)\|", match.group(2))]
    return rows


def test_the_committed_reference_is_not_stale() -> None:
    assert configref.OUTPUT.read_text(encoding="utf-8") == configref.render(), (
        "docs/configuration.md is stale: run `python -m console.configref` and commit the result"
    )


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(configref.render().replace("seconds", "minutes"), encoding="utf-8")
    assert configref.main(["--check", "--output", str(stale)]) == 1
    assert configref.main(["--output", str(stale)]) == 0
    assert configref.main(["--check", "--output", str(stale)]) == 0


def leaf_paths(data: object, prefix: str = "") -> set[str]:
    """Dotted paths of a YAML document's leaves, ``[]`` for the entries of a list."""
    if isinstance(data, dict):
        return set().union(
            *(leaf_paths(v, f"{prefix}.{k}" if prefix else k) for k, v in data.items())
        )
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        return set().union(*(leaf_paths(v, f"{prefix}[]") for v in data))
    return {prefix}


def test_every_field_of_the_example_is_in_the_reference() -> None:
    rows = reference_rows()
    example = leaf_paths(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    assert example, "the example has no fields"
    assert example - set(rows) == set()


def test_units_defaults_and_bounds() -> None:
    rows = reference_rows()
    # type, unit, default, bounds, what it is
    assert rows["server.grace_period_s"][:4] == ["float", "seconds", "`2.0`", ">= 0, <= 60"]
    assert rows["reports.max_speed_mps"][1] == "m/s"
    assert rows["origin.latitude_deg"][1] == "degrees"
    assert rows["publish.rate_hz"][1:4] == ["Hz", "`20.0`", "> 0, <= 100"]
    assert "pattern `^[A-Za-z0-9_.-]+$`" in rows["rsu_id"][3]
    assert rows["tokens[].name"][2] == "required"
    assert "drops it when a ping is unanswered" in rows["server.keepalive_time_s"][4]
    # Both variants of a tagged union, and a list of a tagged union's variants.
    assert "source.objects" in rows and "source.radars[].input.wire_id" in rows
    assert "spat.controllers[].kind" in rows
    assert "shared_group" in rows and "mqtt_auth.cert_file" in rows
