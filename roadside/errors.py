"""Errors of the RSU daemon.

::

    VicoopError
    └── RoadsideError
        ├── TooManySubscribers   the subscriber limit is reached (gRPC RESOURCE_EXHAUSTED)
        └── InvalidSubscription  a subscription asks for something impossible (INVALID_ARGUMENT)
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class RoadsideError(VicoopError):
    """Base class of the RSU daemon's errors."""


class TooManySubscribers(RoadsideError):
    """The RSU already serves as many subscribers as it is configured for."""


class InvalidSubscription(RoadsideError):
    """A subscription is malformed or out of range; the message names the field."""
