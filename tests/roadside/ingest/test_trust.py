"""Which datagrams an input believes: source allowlists and the HMAC trailer, pure and through
a real RSU daemon's UDP radar input (the forged-radar attack)."""

from __future__ import annotations

import asyncio
import math
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.config import RsuConfig
from roadside.daemon import RoadsideDaemon
from roadside.ingest import udp_radar
from roadside.ingest.base import ParseError
from roadside.ingest.trust import DatagramGuard, TrustConfig, sign
from roadside.sources.fused import SensorFusion
from vicoop.config import validate
from vicoop.errors import ConfigError

KEY = b"k" * 32
T0 = 1_700_000_000_000_000_000
DT = 50_000_000


def guard(
    allow: tuple[str, ...] = (), key: bytes | None = None, tmp: Path | None = None
) -> DatagramGuard:
    path = None
    if key is not None:
        assert tmp is not None
        path = tmp / "key"
        path.write_bytes(key)
    return TrustConfig(allow_from=allow, hmac_key_file=path).guard("input.trust")


def reason(g: DatagramGuard, data: bytes, addr: tuple[str, int]) -> str | None:
    try:
        g.check(data, addr)
    except ParseError as exc:
        return exc.reason
    return None


def test_an_allowlist_takes_addresses_networks_and_ports() -> None:
    g = guard(("10.0.0.5", "10.0.1.0/24", "10.0.2.7:40000", "[fd00::5]:40001"))
    assert reason(g, b"x", ("10.0.0.5", 1234)) is None
    assert reason(g, b"x", ("10.0.1.77", 1)) is None
    assert reason(g, b"x", ("10.0.2.7", 40000)) is None
    assert reason(g, b"x", ("10.0.2.7", 40001)) == "source_not_allowed"
    assert reason(g, b"x", ("fd00::5", 40001)) is None
    assert reason(g, b"x", ("::ffff:10.0.0.5", 9)) is None  # IPv4 on a dual-stack socket
    assert reason(g, b"x", ("10.0.0.6", 1234)) == "source_not_allowed"
    assert reason(guard(), b"x", ("192.0.2.1", 1)) is None  # no list: every source


def test_a_keyed_input_takes_only_datagrams_signed_with_its_key(tmp_path: Path) -> None:
    g = guard(key=KEY, tmp=tmp_path)
    assert g.check(sign(KEY, b"payload"), ("10.0.0.5", 1)) == b"payload"
    assert reason(g, b"payload", ("10.0.0.5", 1)) in ("missing_hmac", "bad_hmac")
    assert reason(g, b"short", ("10.0.0.5", 1)) == "missing_hmac"
    assert g.check(sign(KEY, b""), ("10.0.0.5", 1)) == b""
    assert reason(g, sign(b"x" * 32, b"payload"), ("10.0.0.5", 1)) == "bad_hmac"
    tampered = bytearray(sign(KEY, b"payload"))
    tampered[0] ^= 1
    assert reason(g, bytes(tampered), ("10.0.0.5", 1)) == "bad_hmac"


@given(st.binary(max_size=600))
def test_no_unsigned_datagram_passes_a_keyed_input(data: bytes) -> None:
    g = DatagramGuard(key=KEY)
    assert reason(g, data, ("10.0.0.5", 1)) in ("missing_hmac", "bad_hmac")
    assert g.check(sign(KEY, data), ("10.0.0.5", 1)) == data


def test_a_bad_trust_section_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an address, network or address:port"):
        TrustConfig(allow_from=("radar.local",))
    with pytest.raises(ConfigError, match=r"^input\.trust\.hmac_key_file: cannot read"):
        TrustConfig(hmac_key_file=tmp_path / "missing").guard("input.trust")
    (tmp_path / "short").write_bytes(b"abc")
    with pytest.raises(ConfigError, match="holds 3 bytes; a key is at least 16"):
        TrustConfig(hmac_key_file=tmp_path / "short").guard("input.trust")


def radar_datagram(i: int) -> bytes:
    """A pedestrian-like radar target 10 m from the RSU, cycle ``i``, valid CRC."""
    r = np.array([10.0])
    return udp_radar.encode_arrays(
        1, i, T0 + i * DT, r, np.array([math.radians(5.0)]), np.array([0.0])
    )


async def forge(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))
    await asyncio.sleep(0)


async def wait_for(predicate: object, what: str) -> None:
    for _ in range(500):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def sensors_config(trust: dict[str, object]) -> RsuConfig:
    return validate(
        RsuConfig,
        {
            "server": {"port": 0},
            "source": {"kind": "sensors", "radars": [{"input": {"trust": trust}}], "cameras": []},
        },
        "rsu.yaml",
    )


async def test_forged_radar_datagrams_from_outside_the_allowlist_never_reach_the_tracker() -> None:
    # The attack: 40 forged VRAD datagrams with a valid CRC used to put a ghost 10 m from the
    # RSU into every vehicle's stream.
    config = sensors_config({"allow_from": ["10.0.0.5"]})
    now = [T0 + 40 * DT]
    async with RoadsideDaemon(config, clock=lambda: now[0]) as daemon:
        source = daemon.source
        assert isinstance(source, SensorFusion)
        await forge(source.ports["radar-1"], [radar_datagram(i) for i in range(40)])
        stats = source.ingest_stats()["radar-1"]
        await wait_for(lambda: stats.rejected["source_not_allowed"] == 40, "40 rejections")
        assert stats.accepted == 0
        assert daemon.publish_at(T0 + 40 * DT).objects == ()


async def test_a_signed_radar_input_takes_its_own_sender_and_refuses_forgeries(
    tmp_path: Path,
) -> None:
    (tmp_path / "radar.key").write_bytes(KEY)
    config = sensors_config(
        {"allow_from": ["127.0.0.1"], "hmac_key_file": str(tmp_path / "radar.key")}
    )
    now = [T0 + 40 * DT]
    async with RoadsideDaemon(config, clock=lambda: now[0]) as daemon:
        source = daemon.source
        assert isinstance(source, SensorFusion)
        port = source.ports["radar-1"]
        stats = source.ingest_stats()["radar-1"]
        # From an allowed address, but unsigned or signed with another key: refused.
        await forge(port, [radar_datagram(i) for i in range(20)])
        await forge(port, [sign(b"z" * 32, radar_datagram(i)) for i in range(20)])
        await wait_for(lambda: stats.rejected_total == 40, "40 rejections")
        assert stats.rejected["bad_hmac"] == 40
        assert daemon.publish_at(T0 + 40 * DT).objects == ()
        # The real radar, signing with the site's key, is fused.
        await forge(port, [sign(KEY, radar_datagram(i)) for i in range(20, 40)])
        await wait_for(lambda: stats.accepted == 20, "20 accepted cycles")
        assert len(daemon.publish_at(T0 + 40 * DT).objects) == 1
