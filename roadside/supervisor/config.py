"""What the RSU's operator sets for the safety supervisor (``supervisor:`` in the RSU file).

::

    supervisor:
      enabled: true           # take the cloud's signal commands (off by default)
      min_green_s: 5.0        # no green shorter (unless the site program's own is)
      ped_walk_s: 7.0         # a crosswalk's walk, where the program's is longer
      ped_clearance_s: 5.0    # a crosswalk's clearance before a conflicting green
      max_red_s: 120.0        # no red longer (unless the site program's own is)
      fallback_after_s: 60.0  # no command for this long: back to the site program

Seconds everywhere. The limits a controller keeps are the site program's own, tightened
towards these floors where the program is more generous (``roadside.supervisor.limits``).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from vicoop.config import StrictModel

__all__ = ["SupervisorConfig"]


class SupervisorConfig(StrictModel):
    """The safety supervisor's floors and bounds (see the module), seconds."""

    # Take the cloud's signal commands, each through a supervisor, at every intersection with
    # a MAP whose controller can be written (the sumo adapter); off: the site programs run
    # untouched and signal commands are rejected.
    enabled: bool = False

    # The shortest green a command may give a group (the program's own, if shorter, stands).
    min_green_s: float = Field(5.0, ge=1.0, le=60.0)
    # The shortest walk (green) of a crosswalk's group.
    ped_walk_s: float = Field(7.0, ge=1.0, le=60.0)
    # The shortest time from a crosswalk's green end to a conflicting green.
    ped_clearance_s: float = Field(5.0, ge=0.0, le=60.0)
    # The longest red a command may cause a group (the program's own, if longer, stands).
    max_red_s: float = Field(120.0, ge=10.0, le=600.0)
    # Without a command for this long (or with the cloud link down), the controller returns
    # to the site's own program.
    fallback_after_s: float = Field(60.0, gt=0.0, le=3600.0)

    @model_validator(mode="after")
    def _check(self) -> SupervisorConfig:
        if self.max_red_s <= self.min_green_s:
            raise ValueError(
                f"max_red_s ({self.max_red_s:g} s) must exceed min_green_s ({self.min_green_s:g} s)"
            )
        return self
