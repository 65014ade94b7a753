"""Late measurements: the scans fused in the last window, with the tracks before each, so that a
scan older than the newest one can be fused in time order by rolling back and replaying.

A replay must give the tracks the ids they had: each entry keeps which of its scan's
measurement rows started which track, and a replayed birth or update puts those ids back.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

from roadside.fusion.base import IntArray, Scan
from roadside.fusion.tracks import Tracks


@dataclass(frozen=True, slots=True)
class Fused:
    """A scan as fused, with the tracks just before it. ``births`` maps the scan's measurement
    rows that started a track (in this or any earlier application) to that track's id."""

    measured_at_ns: int
    before: Tracks
    scan: Scan
    births: dict[int, int]


class ReplayBuffer:
    """The scans fused in the last ``window_ns`` (ns, of measurement time) before the newest;
    with ``window_ns`` 0 nothing is kept and no scan can be replayed."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._entries: collections.deque[Fused] = collections.deque()

    def record(self, scan: Scan, before: Tracks, births: dict[int, int]) -> None:
        """Keep ``scan``, about to be fused into the tracks ``before`` (a copy is kept) with the
        track ids ``births`` (filled in as it is fused), forgetting what fell out of the
        window."""
        if self.window_ns <= 0:
            return
        self._entries.append(Fused(scan.measured_at_ns, before.copy(), scan, births))
        cutoff = scan.measured_at_ns - self.window_ns
        while len(self._entries) > 1 and self._entries[0].measured_at_ns < cutoff:
            self._entries.popleft()

    def rewind(self, t_ns: int, latest_ns: int) -> list[Fused] | None:
        """For a scan measured at ``t_ns``, older than the ``latest_ns`` fused: the entries after
        it, oldest first, taken out of the buffer (the tracks roll back to the first one's
        ``before``); None when it is too late to replay (out of the window or the buffer)."""
        if (
            t_ns < latest_ns - self.window_ns
            or not self._entries
            or t_ns < self._entries[0].measured_at_ns
        ):
            return None
        replay: list[Fused] = []
        while self._entries and self._entries[-1].measured_at_ns > t_ns:
            replay.append(self._entries.pop())
        replay.reverse()
        return replay


def restore_ids(
    tracks: Tracks, rows: IntArray, cols: IntArray, births: dict[int, int], first_new: int
) -> None:
    """In a replay: a measurement (``cols``) that started the track with id k before now updates
    a track (``rows``) that is new in this replay (id ``first_new`` or later, born of the late
    scan, so no one has seen its id): that track is the one published as k, and takes k back."""
    alive = set(tracks.ids.tolist())
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        k = births.get(c)
        if k is not None and k not in alive and tracks.ids[r] >= first_new:
            alive.discard(int(tracks.ids[r]))
            tracks.ids[r] = k
            alive.add(k)


__all__ = ["Fused", "ReplayBuffer", "restore_ids"]
