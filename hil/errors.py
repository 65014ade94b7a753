"""The rig's exceptions.

::

    VicoopError
    └── HilError              the rig cannot run as asked
        └── ScenarioError     a scenario folder, SUMO config or site file is unusable
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class HilError(VicoopError):
    """The rig cannot run as asked; the message says why."""


class ScenarioError(HilError):
    """A scenario folder, SUMO configuration or site file is unusable."""
