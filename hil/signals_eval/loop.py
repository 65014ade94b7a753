"""A coordinator closed loop on a running SUMO scenario (placeholder: filled in below)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hil.signals_eval.sim import simulate

__all__ = ["LoopStats", "closed_loop"]


@dataclass(frozen=True)
class LoopStats:
    commands: int = 0
    refused: int = 0
    safety_violations: int | None = None


def closed_loop(name: str, net: Path, args: Sequence[str], end_s: float) -> LoopStats:
    simulate(args, end_s)
    return LoopStats()
