"""Which signal state the RSU publishes for each intersection, and when. Pure: time is an
argument (ns since the Unix epoch, the RSU's clock).

With a controller feed (``source: controller``) an intersection's state is the last one the
controller sent, as long as it is fresh; after ``stale_after_ns`` without one its groups are
published DARK (state unknown), and before the first one it is published with no groups: never a
colour the controller did not report. ``fixed_time`` publishes the stand-in plan of
``summary.fixed_time_signal``; ``none`` publishes nothing.

A state is due as soon as it differs from the last one published (a colour, or an expected
change moving by more than ``NEXT_CHANGE_TOLERANCE_NS``), at most once per ``min_interval_ns``
per intersection, and every state is due at each status interval (``due(now, every=True)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from roadside.cloudlink.config import SignalSource
from roadside.cloudlink.summary import fixed_time_signal
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.model import NS_PER_S

# Expected changes this close to the published one are the same (a controller's estimate jitters).
NEXT_CHANGE_TOLERANCE_NS = NS_PER_S // 10
# At most this often per intersection: 10 states a second.
MIN_INTERVAL_NS = NS_PER_S // 10


@dataclass(slots=True)
class _Entry:
    received: SignalState | None = None
    received_at_ns: int = 0
    published: SignalState | None = None
    published_at_ns: int | None = None


def same_state(a: SignalState, b: SignalState) -> bool:
    """Equal groups, colours and (within the tolerance) expected changes."""
    if len(a.groups) != len(b.groups):
        return False
    return all(
        (x.group_id, x.approach, x.colour) == (y.group_id, y.approach, y.colour)
        and abs(x.next_change_ns - y.next_change_ns) <= NEXT_CHANGE_TOLERANCE_NS
        for x, y in zip(a.groups, b.groups, strict=True)
    )


class SignalBook:
    """The signal states of one RSU's intersections (see the module docstring)."""

    def __init__(
        self,
        rsu_id: str,
        intersection_ids: Iterable[str],
        source: SignalSource,
        stale_after_ns: int,
        min_interval_ns: int = MIN_INTERVAL_NS,
    ) -> None:
        self.rsu_id = rsu_id
        self.source = source
        self.stale_after_ns = stale_after_ns
        self.min_interval_ns = min_interval_ns
        self._entries = {i: _Entry() for i in intersection_ids}

    def update(self, state: SignalState, now_ns: int) -> None:
        """A state from the controller, received at ``now_ns``; other intersections' are
        ignored."""
        entry = self._entries.get(state.intersection_id)
        if entry is not None and self.source == "controller":
            entry.received, entry.received_at_ns = state, now_ns

    def current(self, intersection_id: str, now_ns: int) -> SignalState | None:
        """The state to publish for ``intersection_id`` at ``now_ns``; None: nothing."""
        return SOURCES[self.source](self, intersection_id, now_ns)

    def _from_controller(self, intersection_id: str, now_ns: int) -> SignalState | None:
        entry = self._entries[intersection_id]
        state = entry.received
        if state is None:
            return SignalState(self.rsu_id, intersection_id, now_ns, ())
        if now_ns - entry.received_at_ns <= self.stale_after_ns:
            return state
        dark = tuple(
            SignalGroupState(g.group_id, g.approach, SignalColour.DARK, 0) for g in state.groups
        )
        return SignalState(self.rsu_id, intersection_id, now_ns, dark)

    def _fixed_time(self, intersection_id: str, now_ns: int) -> SignalState | None:
        return fixed_time_signal(self.rsu_id, intersection_id, now_ns)

    def _none(self, intersection_id: str, now_ns: int) -> SignalState | None:
        return None

    def due(self, now_ns: int, every: bool = False) -> list[SignalState]:
        """The states to publish now (and taken as published): the changed ones, or with
        ``every`` all of them."""
        out = []
        for intersection_id, entry in self._entries.items():
            state = self.current(intersection_id, now_ns)
            if state is None:
                continue
            changed = entry.published is None or not same_state(state, entry.published)
            ready = (
                entry.published_at_ns is None
                or now_ns - entry.published_at_ns >= self.min_interval_ns
            )
            if every or (changed and ready):
                entry.published, entry.published_at_ns = state, now_ns
                out.append(state)
        return out

    def next_due_ns(self, now_ns: int) -> int | None:
        """The earliest time a state may become due without new input (a held-back change, a
        state going stale); None: not before new input."""
        times = []
        for intersection_id, entry in self._entries.items():
            if entry.received is not None and now_ns - entry.received_at_ns <= self.stale_after_ns:
                times.append(entry.received_at_ns + self.stale_after_ns + 1)
            state = self.current(intersection_id, now_ns)
            if (
                state is not None
                and entry.published is not None
                and entry.published_at_ns is not None
                and not same_state(state, entry.published)
            ):
                times.append(entry.published_at_ns + self.min_interval_ns)
        return min(times, default=None)


# What each ``SignalsConfig.source`` publishes, by name.
SOURCES: dict[str, Callable[[SignalBook, str, int], SignalState | None]] = {
    "controller": SignalBook._from_controller,
    "fixed_time": SignalBook._fixed_time,
    "none": SignalBook._none,
}
