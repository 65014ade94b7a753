"""The pure parts of ``vicoop bench soak``: the schedule of faults over the run, and the ledger
that turns what each side reports (the RSUs' outboxes, the twin's store, the vehicles' answers,
the process samples) into the soak's figures. No clocks, sockets or processes here: times are
seconds since the start of the run, passed in.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


class FaultKind(enum.Enum):
    """What the soak does to the stack, each for a window of the run."""

    BROKER_KILL = "broker_kill"  # SIGKILL Mosquitto, start it again on the same port at the end
    WORKER_KILL = "worker_kill"  # SIGKILL one twin worker, start it again at the end
    RSU_KILL = "rsu_kill"  # SIGKILL one RSU, start it again (same outbox) at the end
    DISK_FULL = "disk_full"  # fill the RSU's outbox disk; free it at the end
    CLOCK_SKEW = "clock_skew"  # one radar stamps its cycles an hour ahead
    FLOOD = "flood"  # malformed and oversized input on every UDP, MQTT, gRPC and REST input


@dataclass(frozen=True, slots=True)
class Fault:
    """``kind`` from ``start_s`` to ``end_s`` (seconds since the start of the run)."""

    kind: FaultKind
    start_s: float
    end_s: float

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


# Where each fault sits in a cycle, as fractions of the cycle: one fault at a time, so that what
# goes wrong can be told apart, with quiet time between them for the stack to recover.
CYCLE: tuple[tuple[FaultKind, float, float], ...] = (
    (FaultKind.BROKER_KILL, 0.04, 0.14),
    (FaultKind.WORKER_KILL, 0.22, 0.27),
    (FaultKind.RSU_KILL, 0.34, 0.40),
    (FaultKind.DISK_FULL, 0.47, 0.60),
    (FaultKind.CLOCK_SKEW, 0.67, 0.76),
    (FaultKind.FLOOD, 0.82, 0.93),
)


def schedule(duration_s: float, warmup_s: float, cycle_s: float = 120.0) -> list[Fault]:
    """Every fault of the run: after ``warmup_s`` of quiet, cycles of ``CYCLE`` each
    ``cycle_s`` long (one shorter cycle filling the run when it is shorter than that), repeated
    while a whole cycle fits before ``duration_s``."""
    if duration_s <= warmup_s:
        raise ValueError(f"the run ({duration_s} s) must be longer than its warm-up ({warmup_s} s)")
    span = duration_s - warmup_s
    length = min(cycle_s, span)
    faults: list[Fault] = []
    for n in range(max(1, math.floor(span / length))):
        start = warmup_s + n * length
        faults += [Fault(kind, start + a * length, start + b * length) for kind, a, b in CYCLE]
    return faults


def active(faults: Iterable[Fault], t_s: float) -> set[FaultKind]:
    """The kinds of fault active at ``t_s``."""
    return {f.kind for f in faults if f.active(t_s)}


# ledger ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxAccount:
    """One RSU's outbox at the end of the run, as the RSU and the twin report it.

    ``numbered``: messages the RSU accepted into its outbox (its AUTOINCREMENT sequence never
    reuses a number, and a message is numbered only once it is stored whole, so this is every
    event and acknowledgement it ever accepted); ``pending``: still in its outbox at the end
    (awaiting a receipt); ``stored_keys``: the outbox sequences the twin's database holds for it
    (events and acknowledgements)."""

    rsu_id: str
    numbered: int
    pending: int
    stored_events: int
    stored_acks: int
    stored_keys: frozenset[int]

    @property
    def missing(self) -> list[int]:
        """Sequences the RSU numbered that the twin never stored."""
        return [s for s in range(1, self.numbered + 1) if s not in self.stored_keys]

    @property
    def lost(self) -> int:
        """Accepted messages neither stored by the twin nor still waiting in the outbox."""
        return max(0, len(self.missing) - self.pending)


def applied_twice(applied_versions: Iterable[int], final_versions: Mapping[str, int]) -> int:
    """How many APPLIED acknowledgements of one RSU are more than its zones' versions explain.

    Each zone's versions run 1, 2, ... up to the one the twin's database holds at the end
    (``final_versions``: zone id -> that version, deleted zones included), each written once
    (a compare-and-set), and an RSU applies each (zone, version) at most once. So a version
    number may be APPLIED at most as often as there are zones that reached it. The database,
    not the operators' answers, says which versions exist: an edit a worker committed and was
    killed before answering is still a version. Acknowledgements name the version, not the
    zone, hence the count per version.
    """
    seen = Counter(applied_versions)
    finals = list(final_versions.values())
    return sum(max(0, n - sum(1 for f in finals if f >= v)) for v, n in seen.items())


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of one daemon process: ``t_s`` since the start, resident set size in bytes."""

    t_s: float
    rss_bytes: int


def memory_growth_pct(samples: Sequence[Sample], from_s: float, min_span_s: float) -> float | None:
    """Growth of a process's RSS from ``from_s`` (the end of the warm-up, or later) to its last
    sample, in percent: the median of the last three samples against the median of the first
    three. None when the process was sampled for less than ``min_span_s`` after ``from_s``."""
    after = [s for s in samples if s.t_s >= from_s]
    if len(after) < 6 or after[-1].t_s - after[0].t_s < min_span_s:
        return None
    first = statistics.median(s.rss_bytes for s in after[:3])
    last = statistics.median(s.rss_bytes for s in after[-3:])
    return 100.0 * (last - first) / first if first > 0 else None


@dataclass(slots=True)
class Ledger:
    """What the soak counted while it ran, from what each side reported."""

    # Vehicle reports (ReportVehicleState) by outcome: "ok" (gRPC OK), "unavailable" (refused,
    # e.g. a full disk), or another status name.
    report_calls: Counter[str] = field(default_factory=Counter)
    # Floods sent, by input ("udp:radar", "mqtt:outbox", "grpc", "rest" ...).
    floods_sent: Counter[str] = field(default_factory=Counter)
    # Answers to the floods that were not the clear refusal expected (a REST 5xx, a gRPC
    # status other than INVALID_ARGUMENT ...), by input and what came back.
    flood_surprises: Counter[str] = field(default_factory=Counter)
    # Zone edits through the twin's API, by outcome ("ok" or the HTTP status).
    zone_edits: Counter[str] = field(default_factory=Counter)
    # zone id -> the versions the twin answered for it.
    zone_versions: dict[str, list[int]] = field(default_factory=dict)
    # Processes that exited without the soak killing them: (daemon name, exit status, t_s).
    deaths: list[tuple[str, int, float]] = field(default_factory=list)
    # Restarts the soak made, by daemon name.
    restarts: Counter[str] = field(default_factory=Counter)
    # Vehicle connections opened by the churn, and their outcomes.
    churn: Counter[str] = field(default_factory=Counter)

    def zone_edited(self, zone_id: str, version: int) -> None:
        self.zone_versions.setdefault(zone_id, []).append(version)
        self.zone_edits["ok"] += 1


def task_deaths(failures_by_instance: Mapping[str, float], logged_failures: int) -> int:
    """Silent task deaths: supervised task failures counted in the daemons' metrics (summed
    over every process instance's last scrape), or logged by a daemon without metrics for them
    (the twin), whichever is larger."""
    return max(int(sum(failures_by_instance.values())), logged_failures)
