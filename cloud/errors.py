"""Errors of the cloud twin (the control API maps them to HTTP codes).

::

    VicoopError
    └── CloudError
        ├── NotFound          no such zone (HTTP 404)
        └── Conflict          the change conflicts with the current state (HTTP 409)
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class CloudError(VicoopError):
    """Base class of the cloud twin's errors."""


class NotFound(CloudError):
    """What the request names does not exist; the message names it."""


class Conflict(CloudError):
    """The change conflicts with the current state; the message says how."""
