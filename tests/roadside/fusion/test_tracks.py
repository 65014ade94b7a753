"""The tracks table: new tracks, copies for replay, keeping and appending rows, headings."""

from __future__ import annotations

import math

import numpy as np

from roadside.fusion.base import N_CLASSES, STATE_DIM
from roadside.fusion.tracks import Tracks


def two_tracks() -> Tracks:
    x = np.zeros((2, STATE_DIM))
    x[0, 2:4] = (0.0, 3.0)  # moving north
    x[1, 2:4] = (0.1, 0.1)  # too slow to tell a heading
    return Tracks.start(np.array([7, 8]), x, np.stack([np.eye(STATE_DIM)] * 2), 2, 100, 0b10)


def test_new_tracks_hold_the_state_in_every_model_equally_likely() -> None:
    t = two_tracks()
    assert len(t) == 2
    assert t.x.shape == (2, 2, STATE_DIM) and t.p.shape == (2, 2, STATE_DIM, STATE_DIM)
    np.testing.assert_array_equal(t.mu, 0.5)
    np.testing.assert_array_equal(t.class_p, 1.0 / N_CLASSES)
    assert t.t_ns.tolist() == t.last_hit_ns.tolist() == [100, 100]
    assert t.sensors.tolist() == [0b10, 0b10]
    assert t.hits.tolist() == t.chances.tolist() == [1, 1]
    assert t.confirmed.tolist() == [False, False]
    assert t.heading.tolist() == [math.pi / 2, 0.0]


def test_a_copy_is_not_changed_by_fusing_into_the_original() -> None:
    t = two_tracks()
    c = t.copy()
    t.ids[0] = 99
    t.class_p[0] = 0.0
    t.last_hit_ns[1] = 500
    t.x = t.x + 1.0  # fusing replaces the states whole
    assert c.ids.tolist() == [7, 8]
    np.testing.assert_array_equal(c.class_p, 1.0 / N_CLASSES)
    assert c.last_hit_ns.tolist() == [100, 100]
    np.testing.assert_array_equal(c.x[:, :, :2], 0.0)


def test_keep_and_append_act_on_every_field() -> None:
    t = two_tracks()
    t.keep(np.array([False, True]))
    assert t.ids.tolist() == [8] and t.x.shape[0] == t.scatter.shape[0] == 1
    t.append(two_tracks())
    assert t.ids.tolist() == [8, 7, 8]
    assert t.p.shape == (3, 2, STATE_DIM, STATE_DIM) and t.heading.shape == (3,)


def test_follow_heading_turns_moving_tracks_only() -> None:
    t = two_tracks()
    t.x[:, :, 2:4] = (-2.0, 0.0)
    t.x[1, :, 2:4] = (0.0, 0.2)
    t.heading[1] = 1.0
    t.follow_heading(np.array([0, 1]))
    assert t.heading.tolist() == [math.pi, 1.0]
