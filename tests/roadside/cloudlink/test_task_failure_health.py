"""After one of its background tasks fails (the supervisor restarts it), the RSU reports DEGRADED
for ``degraded_after_task_failure_s``: the next frames' healthy sensors do not clear it at once,
so the twin and the operators get to see it; then it is OK again by itself."""

from __future__ import annotations

from pathlib import Path

from roadside.cloudlink import CloudLink, CloudLinkConfig
from tests.conftest import RSU_COMMAND_KEYS
from vicoop.cloudmodel import RsuHealth
from vicoop.model import NS_PER_S, GeodeticOrigin, PerceptionFrame

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
T0 = 1_800_000_000_000_000_000


def test_a_task_failure_holds_the_rsu_degraded_then_it_clears(tmp_path: Path) -> None:
    now = [T0]
    config = CloudLinkConfig(
        command_keys=RSU_COMMAND_KEYS,
        enabled=True,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        degraded_after_task_failure_s=30.0,
    )
    link = CloudLink(config, "rsu-held", ORIGIN, clock=lambda: now[0])

    def frame(seq: int) -> PerceptionFrame:
        return PerceptionFrame("rsu-held", seq, now[0], now[0], ORIGIN, ())

    link.on_frame(frame(1))
    assert link.health is RsuHealth.OK
    link.task_failed("publish-loop", RuntimeError("a bug"))
    assert link.health is RsuHealth.DEGRADED
    for seq in range(2, 50):  # healthy frames every 0.5 s for 24 s
        now[0] += NS_PER_S // 2
        link.on_frame(frame(seq))
        assert link.health is RsuHealth.DEGRADED, seq
    now[0] = T0 + 30 * NS_PER_S
    link.on_frame(frame(50))
    assert link.health is RsuHealth.OK
    assert link.outbox.pending() == 1  # and the TASK_FAILED event waits for the twin
