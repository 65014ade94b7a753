"""The time-acceptance window at ingest: a cycle measured too far after or before the RSU's clock
at receive time is rejected by reason, with a message naming the sensor and both times, and
never reaches the sink or the sequence guard."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from roadside.ingest import Ars408Decoder, Ingest, ParseError, RadarCycle, TimeWindow, VradDecoder
from roadside.ingest.udp_radar import encode_arrays
from roadside.sources.fused_config import SensorsSourceConfig
from tests.roadside.ingest.test_can_ars408 import frames
from vicoop.model import NS_PER_S

RX = 1_700_000_000 * NS_PER_S
WINDOW = TimeWindow(max_future_ns=NS_PER_S // 4, max_age_ns=NS_PER_S)


def datagram(counter: int, t_ns: int) -> bytes:
    return encode_arrays(1, counter, t_ns, np.array([20.0]), np.zeros(1), np.zeros(1))


def test_the_window_rejects_future_and_stale_times_by_reason() -> None:
    WINDOW.check("radar-1", RX + NS_PER_S // 4, RX)
    WINDOW.check("radar-1", RX - NS_PER_S, RX)
    with pytest.raises(ParseError) as future:
        WINDOW.check("radar-1", RX + 3600 * NS_PER_S, RX)
    assert future.value.reason == "future"
    assert str(future.value) == (
        f"future: sensor radar-1 measured at {RX + 3600 * NS_PER_S} ns, +3600.000 s from the "
        f"RSU's clock {RX} ns (window -1 s to +0.25 s)"
    )
    with pytest.raises(ParseError) as stale:
        WINDOW.check("radar-1", RX - NS_PER_S - 1, RX)
    assert stale.value.reason == "stale"


def test_a_rejected_cycle_reaches_neither_the_sink_nor_the_sequence_guard(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[RadarCycle] = []
    ing = Ingest(VradDecoder("radar-1", 1), got.append, window=WINDOW)
    with caplog.at_level(logging.WARNING):
        for k in range(3):
            assert ing.feed(datagram(1000 + k, RX + 3600 * NS_PER_S), RX) is None
    assert ing.feed(datagram(1, RX), RX) is not None  # the forged counter did not move the guard
    assert ing.feed(datagram(2, RX - 2 * NS_PER_S), RX) is None
    assert [c.cycle for c in got] == [1]
    assert dict(ing.stats.rejected) == {"future": 3, "stale": 1}
    assert (ing.stats.last_received_ns, ing.stats.last_time_rejected_ns) == (RX, RX)
    # Logged once per run of rejections, not once per datagram.
    assert [r.getMessage()[:16] for r in caplog.records] == ["rejected: future", "rejected: stale:"]


def test_an_ars408_cycle_outside_the_window_is_rejected_at_its_status_frame() -> None:
    dec = Ars408Decoder("radar-1", window=WINDOW)
    ts = RX / NS_PER_S
    out = [dec.feed(i, d, ts + 3600, RX) for i, d in frames(7, [(30.0, 4.0, -5.0, 0.0)])]
    assert out == [None, None]
    assert dict(dec.stats.rejected) == {"future": 1, "no_status": 1}
    cycles = [dec.feed(i, d, ts, RX) for i, d in frames(8, [(30.0, 4.0, -5.0, 0.0)])]
    assert cycles[-1] is not None and dec.stats.last_received_ns == RX


def test_the_window_is_configured_per_site_and_cannot_outrun_the_late_window() -> None:
    assert SensorsSourceConfig().time_window.max_future_s == 0.3
    with pytest.raises(ValueError, match=r"time_window.max_future_s \(0.6\) must be less than"):
        SensorsSourceConfig.model_validate(
            {"time_window": {"max_future_s": 0.6}, "tracker": {"late_window_s": 0.5}}
        )
