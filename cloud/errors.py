"""Errors of the cloud twin.

::

    VicoopError
    └── CloudError
        ├── NotFound          no such RSU, zone or intersection (HTTP 404)
        ├── Conflict          the change conflicts with the current state (HTTP 409)
        ├── Unauthorized      no or unknown bearer token (HTTP 401)
        └── Forbidden         the token's role may not do this (HTTP 403)
"""

from __future__ import annotations

from vicoop.errors import VicoopError


class CloudError(VicoopError):
    """Base class of the cloud twin's errors."""


class NotFound(CloudError):
    pass


class Conflict(CloudError):
    pass


class Unauthorized(CloudError):
    pass


class Forbidden(CloudError):
    pass
