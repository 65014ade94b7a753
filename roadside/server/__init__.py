"""RSU → vehicle streaming: the hub that fans frames out, per-subscriber filters, the zone feed,
the gRPC server."""

from roadside.server.hub import HubStats, PerceptionHub, Subscriber
from roadside.server.service import RoadsideServer
from roadside.server.zonefeed import ZoneFeed
from vicoop.model import SiteInfo

__all__ = ["HubStats", "PerceptionHub", "RoadsideServer", "SiteInfo", "Subscriber", "ZoneFeed"]
