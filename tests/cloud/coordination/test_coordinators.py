"""The cloud's signal coordinators on hand-built measures: max-pressure serves the stage with the
largest pressure, adaptive extends a green that still discharges a queue and ends one that
does not, and both speak only through hold / force-off requests renewed before they lapse."""

from __future__ import annotations

import pytest

from cloud.coordination import (
    REGISTRY,
    AdaptiveCoordinator,
    CommandIssuer,
    MaxPressureCoordinator,
    Observation,
    SiteProgram,
    StageView,
    make_coordinator,
    stage_pressures,
)
from vicoop.cloudmodel import MovementMeasure
from vicoop.signalplan import PhaseRequest, RequestKind

NOW = 1_800_000_000_000_000_000
S = 1_000_000_000

# Three green stages (groups 1+2, 3, 4), each followed by a 3 s amber.
SITE = SiteProgram(
    "x",
    (
        StageView(0, (1, 2), 30.0, 30.0, 30.0),
        StageView(1, (), 3.0, 3.0, 3.0),
        StageView(2, (3,), 20.0, 20.0, 20.0),
        StageView(3, (), 3.0, 3.0, 3.0),
        StageView(4, (4,), 20.0, 20.0, 20.0),
        StageView(5, (), 3.0, 3.0, 3.0),
    ),
    ((1, 1), (2, 1), (3, 2), (4, 1)),
)


def measure(
    group: int, up: int, down: int = 0, queued: int = 0, rate: float = 0.0
) -> MovementMeasure:
    return MovementMeasure("x", group, up, queued, 7.0 * queued, rate, 5.0, down)


def observe(stage: int, elapsed_s: float, *measures: MovementMeasure) -> Observation:
    return Observation("x", NOW, stage, NOW - round(elapsed_s * S), measures)


def test_stage_pressure_is_upstream_minus_downstream_summed_over_its_greens() -> None:
    m = [measure(1, 6, 2), measure(2, 3, 4), measure(3, 9, 1), measure(4, 2, 0)]
    assert stage_pressures(SITE, m) == {0: (6 - 2) + (3 - 4), 2: 8.0, 4: 2.0}


def test_max_pressure_forces_off_a_stage_another_outweighs_and_holds_the_heaviest() -> None:
    mp = MaxPressureCoordinator((SITE,))
    light = [measure(1, 2, 1), measure(2, 1, 0), measure(3, 9, 0), measure(4, 3, 0)]
    (off,) = mp.decide([observe(0, 10.0, *light)], NOW)
    assert off.action == PhaseRequest(RequestKind.FORCE_OFF, (0,))
    assert off.intersection_id == "x" and off.start_ns == NOW and off.end_ns > NOW
    # Stage 2 (group 3: 9 vehicles) now runs and has the largest pressure: held.
    mp2 = MaxPressureCoordinator((SITE,))
    (hold,) = mp2.decide([observe(2, 6.0, *light)], NOW)
    assert hold.action == PhaseRequest(RequestKind.HOLD, (2,))


def test_max_pressure_lets_a_green_serve_its_minimum_and_leaves_ambers_alone() -> None:
    mp = MaxPressureCoordinator((SITE,), min_green_s=5.0)
    heavy_elsewhere = [measure(1, 0), measure(2, 0), measure(3, 20), measure(4, 0)]
    assert mp.decide([observe(0, 2.0, *heavy_elsewhere)], NOW) == []
    assert mp.decide([observe(1, 1.0, *heavy_elsewhere)], NOW) == []


def test_a_wish_is_sent_once_and_renewed_before_its_window_ends() -> None:
    issuer = CommandIssuer("t", window_s=6.0, renew_s=2.0)
    first = issuer.request("x", RequestKind.HOLD, 0, NOW)
    assert first is not None and first.end_ns == NOW + 6 * S
    assert issuer.request("x", RequestKind.HOLD, 0, NOW + 3 * S) is None
    renewed = issuer.request("x", RequestKind.HOLD, 0, NOW + 4 * S)
    assert renewed is not None and renewed.plan_id != first.plan_id
    changed = issuer.request("x", RequestKind.FORCE_OFF, 0, NOW + 5 * S)
    assert changed is not None and changed.action.kind is RequestKind.FORCE_OFF  # type: ignore[union-attr]


def test_adaptive_extends_a_green_still_discharging_and_ends_an_empty_one() -> None:
    ad = AdaptiveCoordinator((SITE,))
    # Stage 0's groups have a long queue and more coming; the others are nearly empty.
    busy = [measure(1, 12, queued=10, rate=0.4), measure(2, 8, queued=6, rate=0.3),
            measure(3, 1, queued=1), measure(4, 0)]  # fmt: skip
    (hold,) = ad.decide([observe(0, 8.0, *busy)], NOW)
    assert hold.action == PhaseRequest(RequestKind.HOLD, (0,))
    # Stage 0's queues are gone and nothing arrives, while group 3 waits with 12 cars.
    served = [measure(1, 0), measure(2, 0), measure(3, 12, queued=12, rate=0.2), measure(4, 0)]
    ad2 = AdaptiveCoordinator((SITE,))
    (off,) = ad2.decide([observe(0, 8.0, *served)], NOW)
    assert off.action == PhaseRequest(RequestKind.FORCE_OFF, (0,))


def test_adaptive_never_asks_to_hold_past_its_max_green() -> None:
    ad = AdaptiveCoordinator((SITE,), max_green_s=60.0)
    busy = [measure(1, 30, queued=30, rate=0.5), measure(2, 30, queued=30, rate=0.5),
            measure(3, 1, queued=1), measure(4, 1, queued=1)]  # fmt: skip
    (off,) = ad.decide([observe(0, 59.0, *busy)], NOW)
    assert off.action == PhaseRequest(RequestKind.FORCE_OFF, (0,))


def test_coordinators_are_chosen_by_name() -> None:
    assert set(REGISTRY) == {"fixed", "max_pressure", "adaptive"}
    assert make_coordinator("fixed", (SITE,)).decide([observe(0, 10.0)], NOW) == []
    with pytest.raises(KeyError, match="unknown coordinator 'green_wave'"):
        make_coordinator("green_wave", (SITE,))
