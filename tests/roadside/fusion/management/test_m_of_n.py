"""M-of-N confirmation and deletion, coasting, existence."""

from __future__ import annotations

import numpy as np
import pytest

from roadside.fusion.base import STATE_DIM
from roadside.fusion.config import TrackerConfig
from roadside.fusion.management import REGISTRY, MOfN, popcount
from roadside.fusion.tracks import Tracks
from vicoop.model import NS_PER_S

SEEN_BY = 0b01
OTHER = 0b10
YES, NO = np.array([True]), np.array([False])


def born(manager: MOfN, sensor: int = SEEN_BY) -> Tracks:
    t = Tracks.start(np.array([1]), np.zeros((1, STATE_DIM)), np.eye(STATE_DIM)[None], 1, 0, sensor)
    manager.start(t)
    return t


def outcomes(manager: MOfN, tracks: Tracks, hits: str, sensor: int = SEEN_BY) -> str:
    """Feed scans that hit ('h') or miss ('m') the track; 'C' after a confirmation, 'D' when
    the manager deletes it (and stop)."""
    out = ""
    for h in hits:
        verdict = manager.update(tracks, YES if h == "h" else NO, YES, sensor)
        out += "C" if verdict.confirmed[0] else "D" if verdict.deleted[0] else "."
        if verdict.deleted[0]:
            break
    return out


def test_chosen_by_name_with_the_configured_windows() -> None:
    cfg = TrackerConfig(confirm_m=2, confirm_n=3, delete_m=4, delete_n=5, max_coast_s=2.0)
    m = REGISTRY[cfg.manager](cfg)
    assert isinstance(m, MOfN)
    assert (m.confirm_m, m.confirm_n, m.delete_m, m.delete_n) == (2, 3, 4, 5)
    assert m.max_coast_ns == 2 * NS_PER_S


def test_popcount() -> None:
    assert popcount(np.array([0, 1, 0b1011, 2**32 - 1])).tolist() == [0, 1, 3, 32]


def test_confirmed_with_m_hits_of_n() -> None:
    m = MOfN(confirm_m=3, confirm_n=4)
    assert outcomes(m, born(m), "hh") == ".C"  # the birth was the first hit
    assert outcomes(m, born(m), "mhh") == "..C"


def test_a_tentative_track_that_cannot_make_it_is_deleted() -> None:
    m = MOfN(confirm_m=3, confirm_n=4)
    assert outcomes(m, born(m), "mmm") == "..D"


def test_confirmed_on_birth_when_one_hit_is_enough() -> None:
    m = MOfN(confirm_m=1, confirm_n=1)
    assert born(m).confirmed.tolist() == [True]


def test_a_confirmed_track_is_deleted_after_m_misses_of_n() -> None:
    m = MOfN(confirm_m=2, confirm_n=2, delete_m=3, delete_n=4)
    t = born(m)
    assert outcomes(m, t, "h") == "C"
    assert outcomes(m, t, "mhmm") == "...D"


def test_a_sensor_that_never_saw_a_confirmed_track_does_not_miss_it() -> None:
    m = MOfN(confirm_m=2, confirm_n=2, delete_m=1, delete_n=1)
    t = born(m)
    assert outcomes(m, t, "h") == "C"
    assert outcomes(m, t, "mmmm", sensor=OTHER) == "...."
    assert t.chances.tolist() == [2]
    assert outcomes(m, t, "m") == "D"


def test_scans_that_do_not_cover_a_track_are_no_opportunity() -> None:
    m = MOfN(confirm_m=3, confirm_n=4)
    t = born(m)
    for _ in range(5):
        m.update(t, NO, NO, SEEN_BY)
    assert t.chances.tolist() == [1] and t.confirmed.tolist() == [False]


def test_tracks_expire_after_max_coast() -> None:
    m = MOfN(max_coast_s=1.0)
    t = born(m)
    assert m.expire(t, NS_PER_S).tolist() == [False]
    assert m.expire(t, NS_PER_S + 1).tolist() == [True]


def test_existence_is_the_share_of_recent_hits() -> None:
    m = MOfN(confirm_m=2, confirm_n=4)
    t = born(m)
    assert m.existence(t).tolist() == [1.0]
    outcomes(m, t, "mhm")
    assert m.existence(t)[0] == pytest.approx(0.5)


def test_windows_are_checked() -> None:
    with pytest.raises(ValueError, match="M-of-N"):
        MOfN(confirm_m=5, confirm_n=4)
