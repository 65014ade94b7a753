"""Conversion between the domain types of ``vicoop.model`` and the ``vicoop.v1`` protobuf
messages. Protobuf stays at the boundary: nothing else in the stack touches ``pb2`` objects.

Decoding validates: a message that is well-formed protobuf but says something impossible (a NaN
position, an unknown class, a polygon that crosses itself) raises ``CodecError`` whose message
names the offending field.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import TypeVar

import shapely

from protos.vicoop.v1 import common_pb2, perception_pb2
from vicoop.errors import CodecError
from vicoop.model import (
    Circle,
    DetectedObject,
    GeodeticOrigin,
    ObjectClass,
    PerceptionFrame,
    Polygon,
    RegionOfInterest,
    SensorHealth,
    SensorKind,
    SensorStatus,
    Size3,
    Subscription,
    Vec3,
)

# Limits of what a subscription may ask for.
MAX_RATE_HZ = 1000.0
MAX_EXTENT_M = 100_000.0
MAX_POLYGON_VERTICES = 1000
MAX_CLIENT_ID_CHARS = 128
MAX_ID_CHARS = 64

E = TypeVar("E", bound=enum.IntEnum)

# ---------------------------------------------------------------------------------------------
# encoding


def origin_to_proto(origin: GeodeticOrigin) -> common_pb2.GeodeticOrigin:
    return common_pb2.GeodeticOrigin(
        latitude_deg=origin.latitude_deg,
        longitude_deg=origin.longitude_deg,
        altitude_m=origin.altitude_m,
    )


def object_to_proto(obj: DetectedObject) -> perception_pb2.DetectedObject:
    cov = obj.position_covariance
    return perception_pb2.DetectedObject(
        track_id=obj.track_id,
        object_class=int(obj.object_class),  # type: ignore[arg-type]
        class_confidence=obj.class_confidence,
        position_m=common_pb2.Vector3(x=obj.position[0], y=obj.position[1], z=obj.position[2]),
        velocity_mps=common_pb2.Vector3(x=obj.velocity[0], y=obj.velocity[1], z=obj.velocity[2]),
        heading_rad=obj.heading_rad,
        size=common_pb2.ObjectSize(length_m=obj.size[0], width_m=obj.size[1], height_m=obj.size[2]),
        position_covariance_m2=common_pb2.Covariance3(
            xx=cov[0], xy=cov[1], xz=cov[2], yy=cov[3], yz=cov[4], zz=cov[5]
        ),
        existence_probability=obj.existence_probability,
        sensor_ids=obj.sensor_ids,
        valid_at_ns=obj.valid_at_ns,
        vehicle_id=obj.vehicle_id,
    )


def sensor_to_proto(sensor: SensorStatus) -> perception_pb2.SensorStatus:
    return perception_pb2.SensorStatus(
        sensor_id=sensor.sensor_id,
        kind=int(sensor.kind),  # type: ignore[arg-type]
        health=int(sensor.health),  # type: ignore[arg-type]
        last_measurement_ns=sensor.last_measurement_ns,
        reason=sensor.reason,
    )


def frame_header_to_proto(frame: PerceptionFrame) -> perception_pb2.PerceptionFrame:
    """The frame without its objects (``objects_before_filter`` still counts them)."""
    return perception_pb2.PerceptionFrame(
        rsu_id=frame.rsu_id,
        sequence=frame.sequence,
        valid_at_ns=frame.valid_at_ns,
        published_at_ns=frame.published_at_ns,
        origin=origin_to_proto(frame.origin),
        sensors=[sensor_to_proto(s) for s in frame.sensors],
        objects_before_filter=len(frame.objects),
    )


def frame_to_proto(frame: PerceptionFrame) -> perception_pb2.PerceptionFrame:
    pb = frame_header_to_proto(frame)
    pb.objects.extend(object_to_proto(o) for o in frame.objects)
    pb.objects_before_filter = frame.objects_before_filter or len(frame.objects)
    return pb


def region_to_proto(region: RegionOfInterest | None) -> perception_pb2.RegionOfInterest | None:
    if region is None:
        return None
    if isinstance(region, Circle):
        return perception_pb2.RegionOfInterest(
            circle=perception_pb2.Circle(
                center=common_pb2.Point2(x_m=region.center_x_m, y_m=region.center_y_m),
                radius_m=region.radius_m,
            )
        )
    return perception_pb2.RegionOfInterest(
        polygon=perception_pb2.Polygon(
            vertices=[common_pb2.Point2(x_m=x, y_m=y) for x, y in region.vertices]
        )
    )


def subscription_to_proto(sub: Subscription) -> perception_pb2.SubscriptionOptions:
    return perception_pb2.SubscriptionOptions(
        region=region_to_proto(sub.region),
        classes=sorted(int(c) for c in sub.classes),  # type: ignore[misc]
        max_rate_hz=sub.max_rate_hz,
        client_id=sub.client_id,
    )


# ---------------------------------------------------------------------------------------------
# decoding, with validation


def _finite(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise CodecError(f"{name} must be a finite number, got {value}")
    return value


def _within(value: float, name: str, low: float, high: float) -> float:
    _finite(value, name)
    if not low <= value <= high:
        raise CodecError(f"{name} must be in [{low:g}, {high:g}], got {value:g}")
    return value


def _bounded_text(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise CodecError(f"{name} must be at most {limit} characters, got {len(value)}")
    return value


def _enum(enum_type: type[E], value: int, name: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        raise CodecError(f"{name}: unknown {enum_type.__name__} value {value}") from None


def origin_from_proto(pb: common_pb2.GeodeticOrigin, name: str = "origin") -> GeodeticOrigin:
    try:
        return GeodeticOrigin(pb.latitude_deg, pb.longitude_deg, pb.altitude_m)
    except ValueError as exc:
        raise CodecError(f"{name}.{exc}") from None


def _vec3(pb: common_pb2.Vector3, name: str) -> Vec3:
    return Vec3(_finite(pb.x, f"{name}.x"), _finite(pb.y, f"{name}.y"), _finite(pb.z, f"{name}.z"))


_OBJECT_CLASSES = {int(c): c for c in ObjectClass}


def object_from_proto(pb: perception_pb2.DetectedObject, name: str = "object") -> DetectedObject:
    """Decode and validate one object; raises ``CodecError`` naming the first bad field.

    The common case (every value in range) is checked in one pass; only a bad object takes the
    field-by-field path that names what is wrong.
    """
    p, v, s, c = pb.position_m, pb.velocity_mps, pb.size, pb.position_covariance_m2
    position = Vec3(p.x, p.y, p.z)
    velocity = Vec3(v.x, v.y, v.z)
    size = Size3(s.length_m, s.width_m, s.height_m)
    covariance = (c.xx, c.xy, c.xz, c.yy, c.yz, c.zz)
    object_class = _OBJECT_CLASSES.get(pb.object_class)
    confidence, existence = pb.class_confidence, pb.existence_probability
    if (
        object_class is None
        or not 0.0 <= confidence <= 1.0
        or not 0.0 <= existence <= 1.0
        or not all(0.0 <= x <= 1e3 for x in size)
        or not all(map(math.isfinite, (*position, *velocity, *covariance, pb.heading_rad)))
        or len(pb.vehicle_id) > MAX_ID_CHARS
    ):
        return _object_from_proto_checked(pb, name)
    return DetectedObject(
        track_id=pb.track_id,
        object_class=object_class,
        class_confidence=confidence,
        position=position,
        velocity=velocity,
        heading_rad=pb.heading_rad,
        size=size,
        position_covariance=covariance,
        existence_probability=existence,
        valid_at_ns=pb.valid_at_ns,
        sensor_ids=tuple(pb.sensor_ids),
        vehicle_id=pb.vehicle_id,
    )


def _object_from_proto_checked(pb: perception_pb2.DetectedObject, name: str) -> DetectedObject:
    cov = pb.position_covariance_m2
    return DetectedObject(
        track_id=pb.track_id,
        object_class=_enum(ObjectClass, pb.object_class, f"{name}.object_class"),
        class_confidence=_within(pb.class_confidence, f"{name}.class_confidence", 0.0, 1.0),
        position=_vec3(pb.position_m, f"{name}.position_m"),
        velocity=_vec3(pb.velocity_mps, f"{name}.velocity_mps"),
        heading_rad=_finite(pb.heading_rad, f"{name}.heading_rad"),
        size=Size3(
            _within(pb.size.length_m, f"{name}.size.length_m", 0.0, 1e3),
            _within(pb.size.width_m, f"{name}.size.width_m", 0.0, 1e3),
            _within(pb.size.height_m, f"{name}.size.height_m", 0.0, 1e3),
        ),
        position_covariance=tuple(  # type: ignore[arg-type]
            _finite(v, f"{name}.position_covariance_m2")
            for v in (cov.xx, cov.xy, cov.xz, cov.yy, cov.yz, cov.zz)
        ),
        existence_probability=_within(
            pb.existence_probability, f"{name}.existence_probability", 0.0, 1.0
        ),
        valid_at_ns=pb.valid_at_ns,
        sensor_ids=tuple(pb.sensor_ids),
        vehicle_id=_bounded_text(pb.vehicle_id, f"{name}.vehicle_id", MAX_ID_CHARS),
    )


def frame_from_proto(
    pb: perception_pb2.PerceptionFrame, received_at_ns: int | None = None
) -> PerceptionFrame:
    """Decode and validate a frame; ``received_at_ns`` is the receiver's clock on arrival."""
    if not pb.HasField("origin"):
        raise CodecError("frame.origin is missing")
    return PerceptionFrame(
        rsu_id=pb.rsu_id,
        sequence=pb.sequence,
        valid_at_ns=pb.valid_at_ns,
        published_at_ns=pb.published_at_ns,
        origin=origin_from_proto(pb.origin, "frame.origin"),
        objects=tuple(
            object_from_proto(o, f"frame.objects[{i}]") for i, o in enumerate(pb.objects)
        ),
        sensors=tuple(
            SensorStatus(
                sensor_id=s.sensor_id,
                kind=_enum(SensorKind, s.kind, f"frame.sensors[{i}].kind"),
                health=_enum(SensorHealth, s.health, f"frame.sensors[{i}].health"),
                last_measurement_ns=s.last_measurement_ns,
                reason=s.reason,
            )
            for i, s in enumerate(pb.sensors)
        ),
        objects_before_filter=pb.objects_before_filter,
        received_at_ns=received_at_ns,
    )


def _point(x: float, y: float, name: str) -> tuple[float, float]:
    return (
        _within(x, f"{name}.x_m", -MAX_EXTENT_M, MAX_EXTENT_M),
        _within(y, f"{name}.y_m", -MAX_EXTENT_M, MAX_EXTENT_M),
    )


def region_from_proto(
    pb: perception_pb2.RegionOfInterest, name: str = "region"
) -> RegionOfInterest | None:
    shape = pb.WhichOneof("shape")
    if shape is None:
        return None
    if shape == "circle":
        cx, cy = _point(pb.circle.center.x_m, pb.circle.center.y_m, f"{name}.circle.center")
        radius = _finite(pb.circle.radius_m, f"{name}.circle.radius_m")
        if not 0.0 < radius <= MAX_EXTENT_M:
            raise CodecError(
                f"{name}.circle.radius_m must be in (0, {MAX_EXTENT_M:g}], got {radius:g}"
            )
        return Circle(cx, cy, radius)
    vertices = pb.polygon.vertices
    if not 3 <= len(vertices) <= MAX_POLYGON_VERTICES:
        raise CodecError(
            f"{name}.polygon.vertices must have 3 to {MAX_POLYGON_VERTICES} points, "
            f"got {len(vertices)}"
        )
    points = tuple(
        _point(v.x_m, v.y_m, f"{name}.polygon.vertices[{i}]") for i, v in enumerate(vertices)
    )
    geometry = shapely.Polygon(points)
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise CodecError(f"{name}.polygon is not a simple polygon: {reason}")
    if geometry.area <= 0.0:
        raise CodecError(f"{name}.polygon has no area")
    return Polygon(points)


def _classes(values: Iterable[int]) -> frozenset[ObjectClass]:
    classes = set()
    for i, value in enumerate(values):
        cls = _enum(ObjectClass, value, f"options.classes[{i}]")
        if cls is ObjectClass.UNSPECIFIED:
            raise CodecError(f"options.classes[{i}]: OBJECT_CLASS_UNSPECIFIED is not a class")
        classes.add(cls)
    return frozenset(classes)


def subscription_from_proto(pb: perception_pb2.SubscriptionOptions) -> Subscription:
    """Decode and validate what a subscriber asks for; raises ``CodecError`` naming the field."""
    rate = _finite(pb.max_rate_hz, "options.max_rate_hz")
    if not 0.0 <= rate <= MAX_RATE_HZ:
        raise CodecError(f"options.max_rate_hz must be in [0, {MAX_RATE_HZ:g}], got {rate:g}")
    if len(pb.client_id) > MAX_CLIENT_ID_CHARS:
        raise CodecError(
            f"options.client_id must be at most {MAX_CLIENT_ID_CHARS} characters, "
            f"got {len(pb.client_id)}"
        )
    return Subscription(
        region=region_from_proto(pb.region, "options.region"),
        classes=_classes(pb.classes),
        max_rate_hz=rate,
        client_id=pb.client_id,
    )
