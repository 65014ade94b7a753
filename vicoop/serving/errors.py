"""Errors of the ``vicoop.v1.Roadside`` service.

::

    VicoopError
    └── ServingError
        ├── TooManySubscribers   the subscriber limit is reached (gRPC RESOURCE_EXHAUSTED)
        │   ├── TooManyFilters   the limit of distinct region/class filters is reached
        │   └── TooManyStreams   one client holds as many streams as it may
        └── Unavailable          the RSU cannot take a call now, e.g. its storage is full
                                 (gRPC UNAVAILABLE: try again later)
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class ServingError(VicoopError):
    """Base class of the Roadside service's errors."""


class TooManySubscribers(ServingError):
    """The RSU already serves as many subscribers as it is configured for."""


class TooManyFilters(TooManySubscribers):
    """The RSU already filters frames for as many distinct regions and class sets as it is
    configured for (each costs a test of every object on every publish tick)."""


class TooManyStreams(TooManySubscribers):
    """One client (a certificate's CN, else an address) already holds as many streams of every
    kind together as one client may."""


class Unavailable(ServingError):
    """The RSU cannot take this call now (the message says why); a client may try again."""
