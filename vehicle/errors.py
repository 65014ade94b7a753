"""Errors of the vehicle client library.

::

    VicoopError
    └── VehicleError
        ├── ClientStateError        the client is used before ``async with`` or after it closed
        ├── SubscriptionRejected    the RSU refused the subscription (INVALID_ARGUMENT, ...);
        │                           retrying the same request cannot help
        └── RoadsideUnavailable     no frame from the RSU for ``ReconnectPolicy.give_up_after_s``
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class VehicleError(VicoopError):
    """Base class of the vehicle library's errors."""


class ClientStateError(VehicleError):
    """The client is not open (use it inside ``async with``)."""


class SubscriptionRejected(VehicleError):
    """The RSU refused the subscription; ``code`` is the gRPC status name."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details


class RoadsideUnavailable(VehicleError):
    """The RSU stayed unreachable for longer than the client was told to keep trying."""
