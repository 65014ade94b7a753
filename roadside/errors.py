"""Errors of the RSU daemon.

::

    VicoopError
    └── RoadsideError    an RSU input or component failed; the message says which and why
        └── StorageFull  the outbox cannot store a new message (a full disk): it is refused

The streaming service's own errors are in ``vicoop.serving.errors``.
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class RoadsideError(VicoopError):
    """Base class of the RSU daemon's errors."""


class StorageFull(RoadsideError):
    """The RSU's storage is full: a new outbox message is refused (never one already stored)."""
