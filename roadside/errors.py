"""Errors of the RSU daemon.

::

    VicoopError
    └── RoadsideError    an RSU input or component failed; the message says which and why

The streaming service's own errors are in ``vicoop.serving.errors``.
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class RoadsideError(VicoopError):
    """Base class of the RSU daemon's errors."""
