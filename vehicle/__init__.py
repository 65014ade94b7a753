"""vicoop's vehicle client library: subscribe to what roadside units see, receive the pilot
zones' rules, report your own state.

::

    from vehicle import RoadsideClient, Circle, ObjectClass

    async with RoadsideClient("127.0.0.1:50051") as rsu:
        async for frame in rsu.perception(roi=Circle(0.0, 0.0, 60.0), classes={ObjectClass.CAR}):
            for obj in frame.objects:
                ...

Positions are metres in the RSU's ENU frame (``frame.origin``); ``vehicle.geo`` converts them to
WGS84 or to your vehicle's body frame. ``rsu.zones()`` streams ``PilotZones``, whose
``rules_at(lat, lon)`` says which rules apply there now; ``rsu.reporter()`` streams the vehicle's
own ``VehicleReport``. ``vehicle.testing.FakeRoadside`` runs an RSU in your tests.
"""

from vehicle.client import (
    ClientState,
    PerceptionStream,
    ReconnectPolicy,
    ReporterStats,
    ReportSummary,
    RoadsideClient,
    StateReporter,
    StreamStats,
    ZoneStream,
    ZoneStreamStats,
)
from vehicle.errors import (
    ClientStateError,
    RoadsideUnavailable,
    SubscriptionRejected,
    VehicleError,
)
from vehicle.geo import (
    EgoObjects,
    EgoPose,
    enu_to_wgs84,
    objects_to_ego,
    objects_to_wgs84,
    wgs84_to_enu,
)
from vehicle.sync import SyncPerceptionStream, SyncRoadsideClient, SyncStateReporter, SyncZoneStream
from vehicle.tls import ClientTls
from vehicle.zones import PilotZones, RulesHere
from vicoop.cloudmodel import VehicleReport
from vicoop.model import (
    Circle,
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    Polygon,
    SensorHealth,
    SensorKind,
    SensorStatus,
    SiteInfo,
    Size3,
    Vec3,
)
from vicoop.zones import TimeWindow, Zone, ZoneRules

__all__ = [
    "Circle",
    "ClientState",
    "ClientStateError",
    "ClientTls",
    "DetectedObject",
    "EgoObjects",
    "EgoPose",
    "GeodeticOrigin",
    "ObjectClass",
    "PerceptionFrame",
    "PerceptionStream",
    "PilotZones",
    "Polygon",
    "ReconnectPolicy",
    "ReportSummary",
    "ReporterStats",
    "RoadsideClient",
    "RoadsideUnavailable",
    "RulesHere",
    "SensorHealth",
    "SensorKind",
    "SensorStatus",
    "SiteInfo",
    "Size3",
    "StateReporter",
    "StreamStats",
    "SubscriptionRejected",
    "SyncPerceptionStream",
    "SyncRoadsideClient",
    "SyncStateReporter",
    "SyncZoneStream",
    "TimeWindow",
    "Vec3",
    "VehicleError",
    "VehicleReport",
    "Zone",
    "ZoneRules",
    "ZoneStream",
    "ZoneStreamStats",
    "enu_to_wgs84",
    "objects_to_ego",
    "objects_to_wgs84",
    "wgs84_to_enu",
]
