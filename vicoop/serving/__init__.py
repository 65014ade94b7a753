"""RSU → vehicle streaming: the hub that fans frames out, per-subscriber filters, the zone feed,
the gRPC server."""

from vicoop.model import SiteInfo
from vicoop.serving.hub import HubStats, PerceptionHub, Subscriber
from vicoop.serving.service import RoadsideServer
from vicoop.serving.zonefeed import ZoneFeed

__all__ = ["HubStats", "PerceptionHub", "RoadsideServer", "SiteInfo", "Subscriber", "ZoneFeed"]
