"""The closed-loop evaluation's figures, from SUMO's tripinfo output. Pure (a file in, numbers
out).

SUMO is run with ``--tripinfo-output F --tripinfo-output.write-unfinished
--tripinfo-output.write-undeparted --device.emissions.probability 1``, so ``F`` holds one
``<tripinfo>`` per trip of the run's window: arrived ones, vehicles still driving at the end
(``vaporized="end"``, ``arrival="-1"``) and vehicles SUMO never managed to insert
(``depart="-1"``, their ``departDelay`` = end - wanted departure, which SUMO writes for them).
Every trip counts, so a controller that leaves cars waiting at the network's edge or in a queue
at the end is not rewarded for it:

- ``mean_delay_s``: mean over all trips of ``timeLoss + departDelay`` (s), the definition of the
  RESCO benchmark and of SUMO's ``--duration-log.statistics`` (which, however, averages over
  inserted vehicles only);
- ``mean_stops``: mean over all trips of ``waitingCount`` (times a vehicle came to a halt,
  speed < 0.1 m/s);
- ``throughput``: trips that arrived;
- ``co2_g_per_vehicle``: total ``CO2_abs`` of the emissions device (SUMO's default HBEFA model,
  mg) over all trips, in grams per trip.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from hil.errors import ScenarioError

__all__ = ["TripFigures", "read_tripinfo"]


@dataclass(frozen=True, slots=True)
class TripFigures:
    """What one controller's run gave, over every trip of the run's window (see the module)."""

    trips: int
    arrived: int
    unfinished: int
    undeparted: int
    mean_delay_s: float
    mean_stops: float
    co2_g_per_vehicle: float

    @property
    def throughput(self) -> int:
        """Trips that arrived."""
        return self.arrived


def read_tripinfo(path: Path) -> TripFigures:
    """The figures of the tripinfo file ``path`` (see the module)."""
    trips = arrived = undeparted = 0
    delay = stops = co2_mg = 0.0
    try:
        for _, el in ET.iterparse(path, events=("end",)):
            if el.tag != "tripinfo":
                continue
            trips += 1
            delay += float(el.get("timeLoss", 0.0)) + float(el.get("departDelay", 0.0))
            stops += float(el.get("waitingCount", 0.0))
            if float(el.get("depart", -1.0)) < 0:
                undeparted += 1
            elif float(el.get("arrival", -1.0)) >= 0:
                arrived += 1
            emissions = el.find("emissions")
            if emissions is not None:
                co2_mg += float(emissions.get("CO2_abs", 0.0))
            el.clear()
    except (OSError, ET.ParseError) as exc:
        raise ScenarioError(f"{path}: not a readable tripinfo file: {exc}") from None
    n = max(trips, 1)
    return TripFigures(
        trips=trips,
        arrived=arrived,
        unfinished=trips - arrived - undeparted,
        undeparted=undeparted,
        mean_delay_s=round(delay / n, 2),
        mean_stops=round(stops / n, 3),
        co2_g_per_vehicle=round(co2_mg / 1000.0 / n, 1),
    )
