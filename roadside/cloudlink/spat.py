"""Which SPaT the RSU sends the twin, and when. Pure: time is an argument (ns, RSU clock).

Vehicles get SPaT at 10 Hz and at every change (``StreamSpat``); the twin and its dashboard need
less: the SPaT of every intersection goes up at every change of a state or the mode (at most
``min_interval_ns`` apart) and otherwise every ``refresh_ns``, so countdowns stay right without
ten messages a second per RSU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vicoop.model import NS_PER_S
from vicoop.spat import Spat

__all__ = ["SpatRelay"]


@dataclass
class SpatRelay:
    min_interval_ns: int = NS_PER_S // 10
    refresh_ns: int = NS_PER_S
    sent: int = 0
    _keys: dict[str, tuple[object, ...]] = field(default_factory=dict)
    _sent_at_ns: int | None = None

    def due(self, latest: Mapping[str, Spat], now_ns: int) -> list[Spat] | None:
        """Every intersection's SPaT if it is time to send it, else None."""
        if not latest:
            return None
        last = self._sent_at_ns
        changed = any(self._keys.get(i) != s.states for i, s in latest.items())
        if last is not None and not (
            (changed and now_ns - last >= self.min_interval_ns) or now_ns - last >= self.refresh_ns
        ):
            return None
        self._keys = {i: s.states for i, s in latest.items()}
        self._sent_at_ns = now_ns
        self.sent += 1
        return list(latest.values())

    def next_due_ns(self) -> int | None:
        """When the next refresh is due (None before the first send)."""
        return None if self._sent_at_ns is None else self._sent_at_ns + self.refresh_ns
