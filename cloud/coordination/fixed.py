"""``fixed``: the sites' own programs, as they are: no command is ever issued."""

from __future__ import annotations

from collections.abc import Sequence

from cloud.coordination.base import Coordinator, Observation
from vicoop.signalplan import SignalCommand

__all__ = ["FixedCoordinator"]


class FixedCoordinator(Coordinator):
    """Issues nothing: every intersection runs its site's own program."""

    name = "fixed"

    def decide(self, observations: Sequence[Observation], now_ns: int) -> list[SignalCommand]:
        return []
