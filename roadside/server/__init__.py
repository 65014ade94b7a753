"""RSU → vehicle streaming: the hub that fans frames out, per-subscriber filters, the gRPC server."""

from roadside.server.hub import HubStats, PerceptionHub, Subscriber
from roadside.server.service import RoadsideServer
from vicoop.model import SiteInfo

__all__ = ["HubStats", "PerceptionHub", "RoadsideServer", "SiteInfo", "Subscriber"]
