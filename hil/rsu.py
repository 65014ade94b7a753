"""The RSU under test, behind one Protocol: the real daemon in the rig's process, the real
``vicoop rsu run`` as a process of its own, or an RSU already running elsewhere (``--rsu``).

Which one is chosen by name from ``MODES`` (``choose_mode``): ``inprocess`` (lock-step, and the
demo), ``process`` (real time) or ``external`` (``--rsu HOST:PORT``, real time).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hil.errors import HilError
from hil.site import rsu_yaml
from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.sources.fused import SensorFusion
from vehicle import RoadsideClient

__all__ = [
    "MODES",
    "Clock",
    "ExternalRsu",
    "InProcessRsu",
    "ProcessRsu",
    "RsuHandle",
    "RsuLaunch",
    "RsuMode",
    "choose_mode",
]

Clock = Callable[[], int]
LOOPBACK = "127.0.0.1"


class RsuHandle(Protocol):
    """One RSU as the rig drives it."""

    @property
    def target(self) -> str:
        """The gRPC ``HOST:PORT`` vehicles subscribe to."""
        ...

    @property
    def host(self) -> str:
        """The host its sensor and signal inputs listen on (UDP)."""
        ...

    @property
    def running(self) -> bool: ...

    async def start(self) -> None:
        """Start it (or, for one the rig did not start, wait until it answers)."""

    async def stop(self) -> None: ...

    def datagrams_handled(self) -> int:
        """Datagrams its inputs took so far (0 when the rig cannot see them)."""
        ...

    def publish_at(self, t_ns: int) -> int | None:
        """Publish its tick for ``t_ns`` (ns) now, when the rig steps it; the frame's sequence,
        or None when it publishes on its own clock or is stopped."""
        ...

    async def spat_at(self, t_ns: int) -> int | None:
        """Read its signal controllers once and publish the SPaT due at ``t_ns``, when the rig
        steps it; the SPaT feed's sequence, or None (nothing due, no controllers, not stepped
        or stopped)."""
        ...


@dataclass(frozen=True)
class RsuLaunch:
    """What a handle may need to start its RSU: the work folder (configuration and log files),
    the in-process daemon's clock (ns) and whether the rig steps it, the ``--rsu`` target."""

    workdir: Path
    clock: Clock
    stepped: bool
    target: str | None = None


class InProcessRsu:
    """The real RSU daemon in this process; ``stepped`` for lock-step (the rig publishes)."""

    def __init__(self, config: RsuConfig, clock: Clock, stepped: bool) -> None:
        self.config = config
        self.clock = clock
        self.stepped = stepped
        self.daemon: RoadsideDaemon | None = None

    @property
    def target(self) -> str:
        return f"{self.config.server.host}:{self.config.server.port}"

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def running(self) -> bool:
        return self.daemon is not None

    async def start(self) -> None:
        self.daemon = RoadsideDaemon(self.config, clock=self.clock, stepped=self.stepped)
        await self.daemon.start()

    async def stop(self) -> None:
        if self.daemon is not None:
            daemon, self.daemon = self.daemon, None
            await daemon.stop()

    def datagrams_handled(self) -> int:
        """Datagrams the daemon took: its sensor inputs' and its signal input's."""
        if self.daemon is None:
            return 0
        n = 0
        if isinstance(self.daemon.source, SensorFusion):
            n += sum(
                s.accepted + s.rejected_total for s in self.daemon.source.ingest_stats().values()
            )
        if self.daemon.signal_input is not None:
            n += self.daemon.signal_input.stats.accepted
            n += self.daemon.signal_input.stats.rejected_total
        return n

    def publish_at(self, t_ns: int) -> int | None:
        if self.daemon is None or not self.stepped:
            return None
        return self.daemon.publish_at(t_ns).sequence

    async def spat_at(self, t_ns: int) -> int | None:
        if self.daemon is None or not self.stepped:
            return None
        return await self.daemon.spat_at(t_ns)


class ProcessRsu:
    """The real RSU as its own process: ``vicoop rsu run --config FILE``."""

    def __init__(self, config: RsuConfig, workdir: Path) -> None:
        self.config = config
        self.path = workdir / f"{config.rsu_id}.rsu.yaml"
        self.path.write_text(rsu_yaml(config), encoding="utf-8")
        self.log_path = workdir / f"{config.rsu_id}.rsu.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def target(self) -> str:
        return f"{self.config.server.host}:{self.config.server.port}"

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def running(self) -> bool:
        return self.proc is not None

    async def start(self) -> None:
        log_file = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 (starting it does not block; waiting is in a thread)
            [sys.executable, "-m", "console.cli", "rsu", "run", "--config", str(self.path)],
            stdout=log_file,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log_file.close()
        self.starts += 1
        proc = self.proc
        async with RoadsideClient(self.target) as client:
            site = asyncio.ensure_future(client.site(timeout_s=60.0))
            while not site.done():
                await asyncio.wait({site}, timeout=0.2)
                if not site.done() and proc.poll() is not None:
                    site.cancel()
                    with contextlib.suppress(BaseException):
                        await site
                    raise HilError(self._exited(proc.returncode))
            try:
                site.result()
            except Exception as exc:
                raise HilError(
                    f"the RSU {self.config.rsu_id} did not answer on {self.target} within 60 s "
                    f"({exc.__class__.__name__}); its log: {self.log_path}"
                ) from None

    def _exited(self, code: int) -> str:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last = lines[-1] if lines else "(nothing logged)"
        return (
            f"the RSU {self.config.rsu_id} exited at start with status {code}: {last} "
            f"(its log: {self.log_path})"
        )

    async def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)

    def datagrams_handled(self) -> int:
        return 0

    def publish_at(self, t_ns: int) -> int | None:
        return None

    async def spat_at(self, t_ns: int) -> int | None:
        return None


class ExternalRsu:
    """An RSU already running elsewhere (``--rsu HOST:PORT``): the rig cannot stop or start it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.host = target.rsplit(":", 1)[0]
        self.running = True

    async def start(self) -> None:
        async with RoadsideClient(self.target) as client:
            await client.site(timeout_s=30.0)

    async def stop(self) -> None:
        return None

    def datagrams_handled(self) -> int:
        return 0

    def publish_at(self, t_ns: int) -> int | None:
        return None

    async def spat_at(self, t_ns: int) -> int | None:
        return None


@dataclass(frozen=True)
class RsuMode:
    """One way to run the RSU: ``make`` builds its handle from the RSU's configuration.

    ``remote``: it runs on another box (real time only; the site file fixes its ports; the rig
    cannot restart it). ``steppable``: the rig can publish its ticks (lock-step needs that)."""

    name: str
    make: Callable[[RsuConfig, RsuLaunch], RsuHandle]
    remote: bool = False
    steppable: bool = False


def _external(config: RsuConfig, launch: RsuLaunch) -> ExternalRsu:
    assert launch.target is not None
    return ExternalRsu(launch.target)


MODES: dict[str, RsuMode] = {
    m.name: m
    for m in (
        RsuMode(
            "inprocess",
            lambda config, launch: InProcessRsu(config, launch.clock, launch.stepped),
            steppable=True,
        ),
        RsuMode("process", lambda config, launch: ProcessRsu(config, launch.workdir)),
        RsuMode("external", _external, remote=True),
    )
}


def choose_mode(name: str, realtime: bool, target: str | None, rsus: int) -> RsuMode:
    """The mode called ``name`` (``auto``: ``external`` with a ``target``, else ``process`` in
    real time and ``inprocess`` in lock-step), checked against the run; ``HilError`` if unfit."""
    if name == "auto":
        name = "external" if target else ("process" if realtime else "inprocess")
    mode = MODES.get(name)
    if mode is None:
        raise HilError(f"unknown RSU mode {name!r}; known: {', '.join(MODES)} or auto")
    if mode.remote and not realtime:
        raise HilError("--rsu drives an RSU on another box: only in real time (add --realtime)")
    if mode.remote and rsus != 1:
        raise HilError("--rsu needs a site with one RSU")
    if mode.remote and target is None:
        raise HilError(f"the {name} RSU mode needs --rsu HOST:PORT")
    if not realtime and not mode.steppable:
        raise HilError(f"lock-step steps the RSU in the rig's process: not {name} (add --realtime)")
    return mode
