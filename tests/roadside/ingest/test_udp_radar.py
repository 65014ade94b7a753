"""The VRAD radar format: round trip, every rejection reason, random bytes, a real UDP socket."""

from __future__ import annotations

import asyncio
import math
import socket
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.ingest import Ingest, RadarCycle, UdpEndpoint, VradDecoder
from roadside.ingest.udp_radar import HEADER, RadarObject, encode, encode_arrays
from vicoop.model import ObjectClass

T = 1_700_000_000_123_456_789
OBJECTS = [RadarObject(12.5, 0.25, -3.5, 7.25, int(ObjectClass.CAR)), RadarObject(80.0, -1.0, 0.5)]


def ingest() -> tuple[Ingest[RadarCycle], list[RadarCycle]]:
    got: list[RadarCycle] = []
    return Ingest(VradDecoder("radar-1", 7), got.append), got


def reseal(data: bytes) -> bytes:
    body = data[:-4]
    return body + struct.pack(">I", zlib.crc32(body))


def test_round_trip() -> None:
    cycle = VradDecoder("radar-1", 7).decode(encode(7, 42, T, OBJECTS))
    assert (cycle.sensor_id, cycle.cycle, cycle.measured_at_ns, len(cycle)) == ("radar-1", 42, T, 2)
    np.testing.assert_allclose(cycle.ranges_m, [12.5, 80.0])
    np.testing.assert_allclose(cycle.azimuths_rad, [0.25, -1.0], rtol=1e-7)
    np.testing.assert_allclose(cycle.radial_speeds_mps, [-3.5, 0.5])
    np.testing.assert_allclose(cycle.rcs_dbsm, [7.25, 0.0])
    assert cycle.classes.tolist() == [int(ObjectClass.CAR), 0]
    same = encode_arrays(
        7,
        42,
        T,
        np.array([12.5, 80.0]),
        np.array([0.25, -1.0]),
        np.array([-3.5, 0.5]),
        np.array([7.25, 0.0]),
        np.array([5, 0]),
    )
    assert same == encode(7, 42, T, OBJECTS)


def test_empty_cycle_is_valid() -> None:
    assert len(VradDecoder("r", 1).decode(encode(1, 0, T, []))) == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (encode(7, 1, T, OBJECTS)[:-5], "truncated"),
        (encode(7, 1, T, OBJECTS) + b"\0", "bad_length"),
        (b"XRAD" + encode(7, 1, T, OBJECTS)[4:], "bad_magic"),
        (
            reseal(encode(7, 1, T, OBJECTS)[:4] + b"\x02" + encode(7, 1, T, OBJECTS)[5:]),
            "bad_version",
        ),
        (encode(7, 1, T, OBJECTS)[:-1] + b"\0", "bad_crc"),
        (encode(8, 1, T, OBJECTS), "unknown_sensor"),
        (encode(7, 1, 0, OBJECTS), "bad_time"),
        (encode(7, 1, T, [RadarObject(math.nan, 0.0, 0.0)]), "bad_value"),
        (encode(7, 1, T, [RadarObject(-1.0, 0.0, 0.0)]), "bad_value"),
        (encode(7, 1, T, [RadarObject(1.0, 4.0, 0.0)]), "bad_value"),
        (encode(7, 1, T, [RadarObject(1.0, 0.0, 0.0, 0.0, 200)]), "bad_class"),
    ],
)
def test_bad_datagrams_are_counted_by_reason(data: bytes, reason: str) -> None:
    ing, got = ingest()
    assert ing.feed(data) is None
    assert got == []
    assert dict(ing.stats.rejected) == {reason: 1}
    assert ing.stats.accepted == 0


def test_duplicated_and_out_of_order_cycles_are_skipped() -> None:
    ing, got = ingest()
    for c in (5, 6, 6, 4, 7, 2**31):
        ing.feed(encode(7, c, T + c, OBJECTS))
    assert [g.cycle for g in got] == [5, 6, 7, 2**31]  # far off: taken as a restart
    assert dict(ing.stats.rejected) == {"duplicate": 1, "out_of_order": 1}
    ing.feed(encode(7, 2**32 - 1, T, OBJECTS))
    ing.feed(encode(7, 0, T, OBJECTS))  # wraps round
    assert got[-1].cycle == 0


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    ing, got = ingest()
    ing.feed(data)
    assert ing.stats.accepted + ing.stats.rejected_total == 1
    assert len(got) == ing.stats.accepted


@given(st.integers(0, HEADER.size + 2 * 16 + 3), st.integers(1, 255))
def test_any_corrupted_byte_is_rejected(position: int, flip: int) -> None:
    data = bytearray(encode(7, 1, T, OBJECTS))
    data[position] ^= flip
    ing, got = ingest()
    ing.feed(bytes(data))
    assert got == []
    assert ing.stats.rejected_total == 1


async def test_real_udp_socket_on_port_zero() -> None:
    ing, got = ingest()
    endpoint = UdpEndpoint(ing, "127.0.0.1", 0)
    await endpoint.start()
    try:
        assert endpoint.port > 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"garbage", ("127.0.0.1", endpoint.port))
            s.sendto(encode(7, 1, T, OBJECTS), ("127.0.0.1", endpoint.port))
        for _ in range(200):
            if ing.stats.accepted + ing.stats.rejected_total == 2:
                break
            await asyncio.sleep(0.01)
        assert [g.cycle for g in got] == [1]
        assert dict(ing.stats.rejected) == {"truncated": 1}
    finally:
        await endpoint.stop()
