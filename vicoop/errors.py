"""The root of every vicoop exception.

::

    VicoopError
    ├── ConfigError            a configuration file or value is invalid (vicoop.config)
    ├── CodecError             a message could not be decoded into domain types (vicoop.codec)
    ├── StartupError           a daemon could not open a port, a file or a device it was given
    ├── roadside.RoadsideError ...  (see each package's ``errors`` module)
    └── vehicle.VehicleError   ...

Each package maps its errors to gRPC status codes, HTTP codes or MQTT reason codes only at its
boundary.
"""

from __future__ import annotations


class VicoopError(Exception):
    """Base class of every error vicoop raises on purpose."""


class ConfigError(VicoopError):
    """A configuration file or value is invalid; the message names the file and the field."""


class StartupError(VicoopError):
    """A daemon could not start: a port in use, an address not of this machine, a path it cannot
    write, a device that is not there. The message names which, on one line."""


class CodecError(VicoopError):
    """A message could not be converted to or from the domain types; the message says why."""
