"""The ARS408 CAN driver: signal decoding, cycle assembly, bad frames, a python-can virtual bus."""

from __future__ import annotations

import asyncio
import math

import can
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.ingest import Ars408Decoder, Ars408Reader, RadarCycle
from roadside.ingest.can_ars408 import encode_extended, encode_general, encode_status
from vicoop.model import ObjectClass

TS = 1_700_000_000.25


def frames(
    counter: int,
    objects: list[tuple[float, float, float, float]],
    extended: bool = False,
    base: int = 0,
) -> list[tuple[int, bytes]]:
    out = [(0x60A + base, encode_status(len(objects), counter))]
    out += [(0x60B + base, encode_general(i, *o, rcs_dbsm=10.0)) for i, o in enumerate(objects)]
    if extended:
        out += [(0x60D + base, encode_extended(i, 1, 4.6, 1.8)) for i in range(len(objects))]
    return out


def test_signals_and_polar_conversion() -> None:
    dec = Ars408Decoder("radar-1")
    out = [
        dec.feed(i, d, TS)
        for i, d in frames(300, [(30.0, 4.0, -5.0, 0.0), (10.0, -10.0, 0.0, 2.0)])
    ]
    assert out[:2] == [None, None]
    cycle = out[2]
    assert cycle is not None
    assert (cycle.cycle, cycle.measured_at_ns) == (300, 1_700_000_000_250_000_000)
    np.testing.assert_allclose(cycle.ranges_m, [math.hypot(30, 4), math.hypot(10, 10)])
    np.testing.assert_allclose(cycle.azimuths_rad, [math.atan2(4, 30), -math.pi / 4])
    np.testing.assert_allclose(
        cycle.radial_speeds_mps, [-5 * 30 / math.hypot(30, 4), -2 * 10 / math.hypot(10, 10)]
    )
    np.testing.assert_allclose(cycle.rcs_dbsm, [10.0, 10.0])
    assert dec.stats.accepted == 1


def test_extended_messages_give_class_and_size_and_sensor_id_offsets_ids() -> None:
    dec = Ars408Decoder("radar-1", can_sensor_id=2, extended=True)
    out = [
        dec.feed(i, d, TS) for i, d in frames(1, [(20.0, 0.0, 0.0, 0.0)], extended=True, base=0x20)
    ]
    cycle = out[-1]
    assert cycle is not None and out[:-1] == [None, None]
    assert cycle.classes.tolist() == [int(ObjectClass.CAR)]
    np.testing.assert_allclose(cycle.lengths_m, [4.6])
    np.testing.assert_allclose(cycle.widths_m, [1.8])
    assert dec.feed(0x60A, encode_status(0, 9), TS) is None  # sensor 0's ids are not ours


def test_incomplete_duplicate_and_bad_frames_are_counted() -> None:
    dec = Ars408Decoder("radar-1")
    cycles = []
    seq = frames(1, [(1.0, 0.0, 0.0, 0.0), (2.0, 0.0, 0.0, 0.0)])[:2]  # one object missing
    seq += frames(2, [(1.0, 0.0, 0.0, 0.0)])
    seq += frames(2, [(1.0, 0.0, 0.0, 0.0)])  # duplicated counter
    seq += [(0x60B, encode_general(0, 1, 0, 0, 0))]  # outside any cycle (so are the frames
    # following a rejected 0x60A: three in all)
    seq += [(0x60A, b"\x01\x00")]  # wrong length
    seq += frames(1, [(1.0, 0.0, 0.0, 0.0)])  # older counter
    for i, d in seq:
        c = dec.feed(i, d, TS)
        if c is not None:
            cycles.append(c.cycle)
    assert cycles == [2]
    assert dict(dec.stats.rejected) == {
        "incomplete_cycle": 1,
        "duplicate": 1,
        "no_status": 3,
        "bad_length": 1,
        "out_of_order": 1,
    }


@given(
    st.lists(
        st.tuples(st.sampled_from([0x60A, 0x60B, 0x60D, 0x123]), st.binary(max_size=9)), max_size=30
    )
)
def test_random_frames_never_raise(seq: list[tuple[int, bytes]]) -> None:
    dec = Ars408Decoder("radar-1", extended=True)
    for i, d in seq:
        dec.feed(i, d, TS)


async def test_reader_on_a_virtual_bus() -> None:
    got: list[RadarCycle] = []
    reader = Ars408Reader(
        Ars408Decoder("radar-1"), got.append, interface="virtual", channel="ars408-test"
    )
    await reader.start()
    sender = can.Bus(interface="virtual", channel="ars408-test")
    try:
        for i, d in frames(7, [(25.0, 0.0, -3.0, 0.0)]):
            sender.send(can.Message(arbitration_id=i, data=d, is_extended_id=False))
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        assert [c.cycle for c in got] == [7]
        assert got[0].ranges_m.tolist() == pytest.approx([25.0])
        assert got[0].measured_at_ns > 0
    finally:
        sender.shutdown()
        await reader.stop()
