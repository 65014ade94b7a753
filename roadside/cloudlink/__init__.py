"""The RSU's link to the cloud twin: MQTT with protobuf payloads, an on-disk outbox, zones.

``CloudLink`` is the I/O edge; ``ZoneBook``, ``ZoneMonitor``, ``SignalBook``, ``Outbox`` and the
functions in ``summary`` are synchronous cores that take time as an argument.
"""

from roadside.cloudlink.config import CloudLinkConfig, IntersectionConfig, SignalsConfig
from roadside.cloudlink.link import CloudLink, LinkStats
from roadside.cloudlink.monitor import ZoneMonitor
from roadside.cloudlink.outbox import Outbox
from roadside.cloudlink.signals import SignalBook
from roadside.cloudlink.zonebook import ZoneBook

__all__ = [
    "CloudLink",
    "CloudLinkConfig",
    "IntersectionConfig",
    "LinkStats",
    "Outbox",
    "SignalBook",
    "SignalsConfig",
    "ZoneBook",
    "ZoneMonitor",
]
