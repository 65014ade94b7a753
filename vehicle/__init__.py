"""vicoop's vehicle client library: subscribe to what roadside units see.

::

    from vehicle import RoadsideClient, Circle, ObjectClass

    async with RoadsideClient("127.0.0.1:50051") as rsu:
        async for frame in rsu.perception(roi=Circle(0.0, 0.0, 60.0), classes={ObjectClass.CAR}):
            for obj in frame.objects:
                ...

Positions are metres in the RSU's ENU frame (``frame.origin``); ``vehicle.geo`` converts them to
WGS84 or to your vehicle's body frame. ``vehicle.testing.FakeRoadside`` runs an RSU in your tests.
"""

from vehicle.client import (
    ClientState,
    PerceptionStream,
    ReconnectPolicy,
    RoadsideClient,
    StreamStats,
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
from vehicle.sync import SyncPerceptionStream, SyncRoadsideClient
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

__all__ = [
    "Circle",
    "ClientState",
    "ClientStateError",
    "DetectedObject",
    "EgoObjects",
    "EgoPose",
    "GeodeticOrigin",
    "ObjectClass",
    "PerceptionFrame",
    "PerceptionStream",
    "Polygon",
    "ReconnectPolicy",
    "RoadsideClient",
    "RoadsideUnavailable",
    "SensorHealth",
    "SensorKind",
    "SensorStatus",
    "SiteInfo",
    "Size3",
    "StreamStats",
    "SubscriptionRejected",
    "SyncPerceptionStream",
    "SyncRoadsideClient",
    "Vec3",
    "VehicleError",
    "enu_to_wgs84",
    "objects_to_ego",
    "objects_to_wgs84",
    "wgs84_to_enu",
]
