"""Scenarios by name: the bundled ones and real city scenarios fetched from a package registry.

The RESCO traffic-signal benchmark's SUMO scenarios (Ault & Sharon, NeurIPS 2021 Datasets and
Benchmarks: ``cologne1``, ``cologne3``, ``cologne8``, ``ingolstadt1``, ``ingolstadt7``,
``ingolstadt21``, ``grid4x4``, ``arterial4x4``) ship inside the ``sumo-rl`` wheel on PyPI
(``sumo_rl/nets/RESCO/NAME/``: a ``.sumocfg``, the net with the city's own signal programs and an
hour of demand). ``fetch`` downloads that one wheel without its dependencies, checks its sha256
against a pinned digest, and unpacks the scenario folders into ``DEST/NAME/``.

A scenario is named on the command line by a path (a folder, ``.sumocfg`` or site file), by the
name of a bundled one (``crossing``) or by the name of a fetched one; ``resolve`` looks in that
order. Where fetched scenarios live is passed in (``default_dir`` computes the per-user default
from the environment the command line hands it).

The scenarios keep their own licences: the Cologne ones come from TAPASCologne (DLR, Creative
Commons), the Ingolstadt ones from InTAS (GPL-3.0); ``sumo-rl`` itself is MIT.
"""

from __future__ import annotations

import enum
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hil.errors import ScenarioError

__all__ = [
    "BUNDLED_DIR",
    "PACKAGE",
    "PINNED_SHA256",
    "PINNED_VERSION",
    "Scenario",
    "ScenarioSource",
    "default_dir",
    "download_wheel",
    "fetch",
    "list_scenarios",
    "resolve",
    "unpack_scenarios",
    "verify_wheel",
]

PACKAGE = "sumo-rl"
PINNED_VERSION = "1.4.5"
# sha256 of each known wheel (sumo_rl-VERSION-py3-none-any.whl), as PyPI serves it.
PINNED_SHA256: Mapping[str, str] = {
    "1.4.5": "322d090e6a66d97cc9b265c0b6fa092687bc6b35965fe5f53f678878d1987660",
}
WHEEL_FOLDER = PurePosixPath("sumo_rl/nets/RESCO")
BUNDLED_DIR = Path(__file__).parent / "scenarios"


class ScenarioSource(enum.Enum):
    """Where a named scenario comes from."""

    BUNDLED = "bundled"
    FETCHED = "fetched"


@dataclass(frozen=True)
class Scenario:
    """A scenario known by name: its folder (holding a ``.sumocfg``) and where it came from."""

    name: str
    folder: Path
    source: ScenarioSource


def default_dir(environ: Mapping[str, str], home: Path) -> Path:
    """Where fetched scenarios live: ``$VICOOP_SCENARIOS``, else ``$XDG_DATA_HOME/vicoop/scenarios``,
    else ``HOME/.local/share/vicoop/scenarios``."""
    if environ.get("VICOOP_SCENARIOS"):
        return Path(environ["VICOOP_SCENARIOS"])
    data = Path(environ["XDG_DATA_HOME"]) if environ.get("XDG_DATA_HOME") else home / ".local/share"
    return data / "vicoop" / "scenarios"


def verify_wheel(wheel: Path, sha256: str) -> None:
    """Raise ``ScenarioError`` unless ``wheel``'s sha256 (hex) is ``sha256``."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256.lower():
        raise ScenarioError(
            f"{wheel.name}: sha256 {digest} is not the pinned {sha256.lower()}; "
            "the download is not the wheel this version of vicoop knows, nothing was unpacked"
        )


def unpack_scenarios(wheel: Path, dest: Path) -> tuple[Path, ...]:
    """Unpack the wheel's ``sumo_rl/nets/RESCO/NAME/...`` files into ``dest/NAME/...``; returns
    the files written. Raises ``ScenarioError``, having written nothing, if the wheel holds none
    or holds a member that would land outside its scenario folder."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            members: list[tuple[zipfile.ZipInfo, Path]] = []
            for info in archive.infolist():
                member = PurePosixPath(info.filename)
                if info.is_dir() or not member.is_relative_to(WHEEL_FOLDER):
                    continue
                relative = member.relative_to(WHEEL_FOLDER)
                if len(relative.parts) < 2 or ".." in relative.parts:
                    raise ScenarioError(
                        f"{wheel.name}: {info.filename} is not inside a scenario folder"
                    )
                members.append((info, dest.joinpath(*relative.parts)))
            if not members:
                raise ScenarioError(f"{wheel.name}: holds no scenarios under {WHEEL_FOLDER}/")
            for info, target in members:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
    except zipfile.BadZipFile as exc:
        raise ScenarioError(f"{wheel.name}: not a wheel ({exc})") from exc
    return tuple(target for _, target in members)


def download_wheel(version: str, into: Path, python: str = sys.executable) -> Path:
    """Download the ``sumo-rl==version`` wheel alone (no dependencies) into ``into`` with the pip
    of ``python`` (so pip's own index, proxy and certificate settings apply); returns its path."""
    command = [python, "-m", "pip", "download", f"{PACKAGE}=={version}", "--no-deps"]
    command += ["--only-binary", ":all:", "--disable-pip-version-check", "-d", str(into)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ScenarioError(f"could not download {PACKAGE}=={version} with pip:\n{tail}")
    return wheels[0]


def fetch(
    dest: Path,
    version: str = PINNED_VERSION,
    sha256: str | None = None,
    python: str = sys.executable,
) -> tuple[Path, ...]:
    """Download ``sumo-rl==version``, check its digest (``sha256``, default the pinned one for that
    version) and unpack its scenarios into ``dest``; returns the files written."""
    expected = sha256 or PINNED_SHA256.get(version)
    if expected is None:
        raise ScenarioError(
            f"no pinned sha256 for {PACKAGE} {version} (pinned: {', '.join(PINNED_SHA256)}); "
            "give the wheel's digest with --sha256"
        )
    with tempfile.TemporaryDirectory(prefix="vicoop-scenarios-") as tmp:
        wheel = download_wheel(version, Path(tmp), python)
        verify_wheel(wheel, expected)
        return unpack_scenarios(wheel, dest)


def _folders(root: Path, source: ScenarioSource) -> list[Scenario]:
    if not root.is_dir():
        return []
    return [
        Scenario(folder.name, folder, source)
        for folder in sorted(root.iterdir())
        if folder.is_dir() and any(folder.glob("*.sumocfg"))
    ]


def list_scenarios(bundled: Path, fetched: Path) -> tuple[Scenario, ...]:
    """The scenarios known by name: the bundled ones, then the fetched ones."""
    return (*_folders(bundled, ScenarioSource.BUNDLED), *_folders(fetched, ScenarioSource.FETCHED))


def resolve(scenario: str, bundled: Path, fetched: Path) -> Path:
    """The scenario ``scenario`` names: a path if it exists, else the bundled scenario of that
    name, else the fetched one. Raises ``ScenarioError`` saying how to get it otherwise."""
    path = Path(scenario)
    if path.exists():
        return path
    for root in (bundled, fetched):
        candidate = root / scenario
        if path.name == scenario and candidate.is_dir():
            return candidate
    known = ", ".join(s.name for s in list_scenarios(bundled, fetched)) or "none"
    raise ScenarioError(
        f"{scenario}: no such scenario folder or file, and no scenario of that name "
        f"(known: {known}; fetched ones live in {fetched}); "
        "`vicoop hil scenarios fetch` gets the RESCO city scenarios "
        "(cologne1/3/8, ingolstadt1/7/21, grid4x4, arterial4x4)"
    )
