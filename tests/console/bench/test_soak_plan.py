"""The soak's pure parts: the fault schedule and the ledger's figures (lost messages, versions
applied twice, memory growth), from what each side reports."""

from __future__ import annotations

import itertools

import pytest

from console.bench.soak_plan import (
    FaultKind,
    OutboxAccount,
    Sample,
    active,
    applied_twice,
    memory_growth_pct,
    schedule,
)


def test_a_short_run_gets_every_fault_once_after_the_warm_up_one_at_a_time() -> None:
    faults = schedule(60.0, 8.0)
    assert [f.kind for f in faults] == list(FaultKind)
    assert all(8.0 <= f.start_s < f.end_s <= 60.0 for f in faults)
    for earlier, later in itertools.pairwise(faults):
        assert earlier.end_s <= later.start_s  # never two at once
    assert active(faults, 5.0) == set()
    broker = faults[0]
    assert active(faults, (broker.start_s + broker.end_s) / 2) == {FaultKind.BROKER_KILL}


def test_a_long_run_repeats_the_cycle() -> None:
    faults = schedule(600.0, 30.0)
    assert len(faults) == 4 * len(FaultKind)  # four whole 120 s cycles fit in 570 s
    assert faults[-1].end_s <= 600.0


def test_a_run_no_longer_than_its_warm_up_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than its warm-up"):
        schedule(10.0, 10.0)


def test_a_message_neither_stored_nor_waiting_is_lost() -> None:
    all_stored = OutboxAccount("a", 5, 0, 4, 1, frozenset({1, 2, 3, 4, 5}))
    assert (all_stored.missing, all_stored.lost) == ([], 0)
    waiting = OutboxAccount("a", 5, 2, 3, 0, frozenset({1, 2, 3}))
    assert (waiting.missing, waiting.lost) == ([4, 5], 0)
    gone = OutboxAccount("a", 5, 0, 3, 0, frozenset({1, 3, 5}))
    assert (gone.missing, gone.lost) == ([2, 4], 2)


def test_a_version_applied_more_often_than_zones_reached_it_counts_as_applied_twice() -> None:
    final = {"closed": 1, "edit": 3}  # the twin's database at the end
    assert applied_twice([1, 1, 2, 3], final) == 0  # version 1 of each zone once
    assert applied_twice([1, 2, 3], final) == 0  # an RSU may skip a version (it got a later one)
    assert applied_twice([1, 1, 1, 2, 3, 3], final) == 2
    assert applied_twice([4], final) == 1  # a version no zone reached
    assert applied_twice([], final) == 0


def test_memory_growth_compares_the_start_and_the_end_after_the_warm_up() -> None:
    flat = [Sample(float(t), 100 << 20) for t in range(0, 100, 2)]
    assert memory_growth_pct(flat, 10.0, 30.0) == 0.0
    growing = [Sample(float(t), (100 + t) << 20) for t in range(0, 100, 2)]
    pct = memory_growth_pct(growing, 10.0, 30.0)
    assert pct is not None and 70 < pct < 80  # 112 MiB -> 196 MiB
    assert memory_growth_pct(growing[:10], 10.0, 30.0) is None  # too short to say
