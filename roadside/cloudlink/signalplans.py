"""The signal commands an RSU takes from the cloud, each through its intersection's safety
supervisor. Pure and synchronous (time passed in).

Like zones (``zonebook``), commands are versioned, acknowledged and idempotent; the version is
the intersection's plan version:

- a version at or below the one the intersection holds is acknowledged ``ALREADY_APPLIED`` and
  changes nothing, but counts as heard (``SafetySupervisor.submit``: the coordinator resending
  its plan keeps the intersection coordinated; silence returns it to the site's program);
- a command for an intersection with no supervised controller here, or one the supervisor
  refuses, is acknowledged ``REJECTED`` with the reason's key and what was wrong
  (``"refused: split_below_min_green: stage 0: split 2 s < minimum green 5 s"``), counted by
  reason, and becomes a ``SIGNAL_COMMAND_REFUSED`` event for the twin (once per command id);
  a refused version is not held, so the coordinator may send a corrected one at any version
  above the held one;
- an accepted one is ``APPLIED``: the supervisor serves it in its window.

Versions are not stored: after a restart the RSU runs the site's program until the coordinator's
next command.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable

from roadside.supervisor import SafetySupervisor
from vicoop.cloudmodel import AckStatus, Command, CommandAck, Event, EventKind
from vicoop.signalplan import SignalCommand

__all__ = ["SignalPlanBook"]

UNKNOWN_INTERSECTION = "unknown_intersection"
_REMEMBERED = 256  # refused command ids remembered (one event each)


class SignalPlanBook:
    """The RSU's supervised intersections (``add``) and the plan version each holds."""

    def __init__(self, supervisors: Iterable[SafetySupervisor] = ()) -> None:
        self.supervisors: dict[str, SafetySupervisor] = {}
        self.versions: dict[str, int] = {}
        self.refused: Counter[str] = Counter()
        self._refused_ids: OrderedDict[str, None] = OrderedDict()
        for s in supervisors:
            self.add(s)

    def add(self, supervisor: SafetySupervisor) -> None:
        """Take signal commands for ``supervisor.intersection_id``."""
        self.supervisors[supervisor.intersection_id] = supervisor

    def link(self, up: bool, now_ns: int) -> None:
        """Tell every supervisor the cloud link went up or down."""
        for s in self.supervisors.values():
            s.link(up, now_ns)

    def apply(self, command: Command, now_ns: int) -> tuple[CommandAck, Event | None]:
        """Apply ``command`` (a ``SignalCommand`` body) once: its acknowledgement, and the
        event to send when it was refused (None otherwise)."""
        body = command.body
        if not isinstance(body, SignalCommand):
            raise TypeError(f"not a signal command: {type(body).__name__}")
        iid = body.intersection_id
        supervisor = self.supervisors.get(iid)
        if supervisor is None:
            return self._refuse(
                command, body, UNKNOWN_INTERSECTION, f"no supervised controller for {iid!r}", now_ns
            )
        if command.version <= self.versions.get(iid, 0):
            supervisor.heard(now_ns)
            return (
                CommandAck(
                    command.command_id, command.version, AckStatus.ALREADY_APPLIED, "", now_ns
                ),
                None,
            )
        refusal = supervisor.submit(body, now_ns)
        if refusal is not None:
            return self._refuse(command, body, refusal.reason.value, refusal.detail, now_ns)
        self.versions[iid] = command.version
        return CommandAck(command.command_id, command.version, AckStatus.APPLIED, "", now_ns), None

    def _refuse(
        self, command: Command, body: SignalCommand, reason: str, detail: str, now_ns: int
    ) -> tuple[CommandAck, Event | None]:
        self.refused[reason] += 1
        why = f"refused: {reason}: {detail}"
        ack = CommandAck(command.command_id, command.version, AckStatus.REJECTED, why, now_ns)
        if command.command_id in self._refused_ids:
            return ack, None
        self._refused_ids[command.command_id] = None
        while len(self._refused_ids) > _REMEMBERED:
            self._refused_ids.popitem(last=False)
        event = Event(
            EventKind.SIGNAL_COMMAND_REFUSED,
            now_ns,
            detail=f"{body.intersection_id} {body.plan_id}: {reason}: {detail}",
        )
        return ack, event
