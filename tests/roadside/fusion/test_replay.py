"""The replay buffer: the window of fused scans, rolling back, and ids kept across a replay."""

from __future__ import annotations

import numpy as np

from roadside.fusion.base import Scan
from roadside.fusion.replay import ReplayBuffer, restore_ids
from roadside.fusion.tracks import Tracks
from vicoop.model import SensorKind


def empty(t: int) -> Scan:
    return Scan.empty("cam", SensorKind.CAMERA, t)


def buffer(window_ns: int, times: list[int]) -> ReplayBuffer:
    buf = ReplayBuffer(window_ns)
    for t in times:
        buf.record(empty(t), Tracks(1), {})
    return buf


def test_rewind_gives_the_later_scans_oldest_first() -> None:
    buf = buffer(100, [10, 20, 30, 40])
    replay = buf.rewind(25, 40)
    assert replay is not None
    assert [e.measured_at_ns for e in replay] == [30, 40]
    # They were taken out: what remains ends before the late scan.
    again = buf.rewind(15, 20)
    assert again is not None and [e.measured_at_ns for e in again] == [20]


def test_the_window_forgets_older_scans() -> None:
    buf = buffer(15, [10, 20, 30, 40])
    # 40 - 15 = 25: scans 10 and 20 are forgotten, so there is nothing to roll back into
    # before 30.
    assert buf.rewind(26, 40) is None
    replay = buf.rewind(35, 40)
    assert replay is not None and [e.measured_at_ns for e in replay] == [40]


def test_too_late_for_the_window() -> None:
    assert buffer(100, [10, 200]).rewind(50, 200) is None


def test_without_a_window_nothing_is_kept() -> None:
    assert buffer(0, [10, 20]).rewind(15, 20) is None


def test_entries_keep_the_tracks_as_they_were() -> None:
    tracks = Tracks(1)
    buf = ReplayBuffer(100)
    buf.record(empty(10), tracks, {})
    tracks.ids = np.array([5])
    buf.record(empty(20), tracks, {0: 5})
    replay = buf.rewind(15, 20)
    assert replay is not None and len(replay[0].before) == 1 and replay[0].births == {0: 5}


def test_a_new_track_that_took_a_published_tracks_measurement_takes_its_id() -> None:
    tracks = Tracks(1)
    tracks.ids = np.array([1, 4, 5])
    # Measurement 0 started track 2 (gone in the replay), measurement 1 started track 1 (alive).
    restore_ids(tracks, np.array([1, 2]), np.array([0, 1]), {0: 2, 1: 1}, first_new=4)
    assert tracks.ids.tolist() == [1, 2, 5]
    # A track that is not new in the replay keeps its id.
    restore_ids(tracks, np.array([0]), np.array([0]), {0: 3}, first_new=4)
    assert tracks.ids.tolist() == [1, 2, 5]
