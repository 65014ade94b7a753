"""Configuration of the RSU's SPaT: the intersections' signal controllers and how often their
SPaT goes to vehicles.

::

    spat:
      controllers:
        - kind: ntcip1202            # or udp_json, sumo (roadside.controllers.config)
          intersection_id: junction-1
          host: 10.0.0.20
"""

from __future__ import annotations

from pydantic import Field, model_validator

from roadside.controllers.config import ControllerConfig
from vicoop.config import StrictModel


class SpatConfig(StrictModel):
    """The signal controllers whose SPaT this RSU streams (``StreamSpat``); none: no SPaT."""

    # One adapter per intersection, chosen by `kind`: udp_json, ntcip1202 or sumo.
    controllers: tuple[ControllerConfig, ...] = ()
    # How often each controller is read: a change reaches vehicles within one poll.
    poll_hz: float = Field(50.0, gt=0, le=200)
    # How often the SPaT is sent again when nothing changes (J2735 asks for 10 Hz).
    refresh_hz: float = Field(10.0, ge=1, le=50)
    # How often each controller's program (its timing) is read again.
    program_refresh_s: float = Field(60.0, gt=0, le=86_400)
    # How many states each signal group's SPaT lists: the current one and those that follow
    # (J2735 allows 16). Speed advisories need a whole cycle (green, amber, red, green: 4) to
    # plan for the next green while the current one is still on.
    events_per_group: int = Field(2, ge=1, le=16)

    @model_validator(mode="after")
    def _one_controller_per_intersection(self) -> SpatConfig:
        ids = [c.intersection_id for c in self.controllers]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"each intersection may have one controller; twice: {twice}")
        return self
