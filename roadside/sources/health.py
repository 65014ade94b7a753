"""A sensor's health, judged by the RSU's clock when its valid cycles arrived (pure).

Only accepted cycles keep a sensor OK: junk on its port is counted as rejected input but does
not by itself degrade a sensor whose real data flows, and a sensor whose stamps all fall outside
the time-acceptance window (``roadside.ingest.TimeWindow``) shows as DEGRADED for clock skew
rather than OK.
"""

from __future__ import annotations

from roadside.ingest import IngestStats
from vicoop.model import SensorHealth

OK = ""
CLOCK_SKEW = "clock skew"
NEVER_HEARD = "never heard"
LATE = "no valid cycle lately"
SILENT = "silent"


def judge(
    stats: IngestStats, now_ns: int, degraded_after_ns: int, silent_after_ns: int
) -> tuple[SensorHealth, str]:
    """The health at ``now_ns`` (RSU clock) of the input counted in ``stats``, and why it is
    not OK (``""`` when it is)."""
    last = stats.last_received_ns
    skewed = (
        stats.last_time_rejected_ns is not None
        and now_ns - stats.last_time_rejected_ns <= degraded_after_ns
        and (last is None or stats.last_time_rejected_ns > last)
    )
    age = None if last is None else now_ns - last
    if age is not None and age <= degraded_after_ns:
        return SensorHealth.OK, OK
    if skewed:
        return SensorHealth.DEGRADED, CLOCK_SKEW
    if age is None:
        return SensorHealth.SILENT, NEVER_HEARD
    if age > silent_after_ns:
        return SensorHealth.SILENT, SILENT
    return SensorHealth.DEGRADED, LATE


__all__ = ["CLOCK_SKEW", "judge"]
