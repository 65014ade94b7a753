"""Domain types of the RSU <-> cloud link and of vehicle reports, free of protobuf.

Positions inside an RSU's messages are metres in that RSU's ENU frame (``origin``); vehicle
reports and zones are WGS84. Times are ns since the Unix epoch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from vicoop.model import DetectedObject, GeodeticOrigin, ObjectClass, SensorStatus, Size3
from vicoop.signalplan import SignalCommand
from vicoop.zones import Zone


class RsuHealth(enum.IntEnum):
    UNSPECIFIED = 0
    OK = 1
    DEGRADED = 2
    OFFLINE = 3


class SignalColour(enum.IntEnum):
    UNSPECIFIED = 0
    RED = 1
    RED_AMBER = 2
    GREEN = 3
    AMBER = 4
    DARK = 5


class EventKind(enum.IntEnum):
    UNSPECIFIED = 0
    ZONE_SPEEDING = 1
    ZONE_CLOSED_ENTRY = 2
    ZONE_CLASS_NOT_ALLOWED = 3
    VEHICLE_REPORT_REJECTED = 4
    SENSOR_HEALTH = 5
    OTHER = 6
    ZONE_PERMIT_NOT_ACCEPTED = 7
    OUTBOX_OVERFLOW = 8
    TASK_FAILED = 9
    # The RSU's safety supervisor refused a signal command; detail: intersection, plan, why.
    SIGNAL_COMMAND_REFUSED = 10
    # A command refused before it was applied: not signed for this RSU, recently (signing).
    COMMAND_REFUSED = 11


class AckStatus(enum.IntEnum):
    UNSPECIFIED = 0
    APPLIED = 1
    ALREADY_APPLIED = 2
    REJECTED = 3


@dataclass(frozen=True, slots=True)
class Intersection:
    """A signalised intersection; its centre in metres in the RSU's ENU frame."""

    intersection_id: str
    center_x_m: float = 0.0
    center_y_m: float = 0.0


@dataclass(frozen=True)
class RsuStatus:
    rsu_id: str
    health: RsuHealth
    origin: GeodeticOrigin
    coverage_radius_m: float = 0.0
    intersections: tuple[Intersection, ...] = ()
    sensors: tuple[SensorStatus, ...] = ()
    sent_at_ns: int = 0
    outbox_pending: int = 0
    zone_versions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApproachMeasure:
    """Traffic on one approach: vehicles now, queue from the stop line (m), mean speed (m/s)."""

    intersection_id: str
    approach: str
    vehicle_count: int
    queue_length_m: float
    mean_speed_mps: float


@dataclass(frozen=True, slots=True)
class MovementMeasure:
    """Traffic of one movement of an intersection's MAP (one signal group: the connections it
    releases), from the RSU's tracks at one instant (``roadside.cloudlink.summary``).

    Upstream (the group's ingress lanes, within the MAP's lane reach): ``vehicle_count``
    vehicles, ``queued_vehicles`` of them slower than 1 m/s, ``queue_length_m`` from the stop
    line to the farthest queued one, ``arrivals_per_s`` the flow of moving vehicles towards the
    stop line (sum of their speeds over the lanes' length: q = k v, veh/s), ``mean_speed_mps``.
    Downstream: ``downstream_vehicles`` on the group's egress lanes (what max-pressure
    subtracts).
    """

    intersection_id: str
    signal_group: int
    vehicle_count: int
    queued_vehicles: int
    queue_length_m: float
    arrivals_per_s: float
    mean_speed_mps: float
    downstream_vehicles: int


@dataclass(frozen=True)
class PerceptionSummary:
    rsu_id: str
    sequence: int
    valid_at_ns: int
    published_at_ns: int
    origin: GeodeticOrigin
    objects: tuple[DetectedObject, ...] = ()
    measures: tuple[ApproachMeasure, ...] = ()


@dataclass(frozen=True, slots=True)
class SignalGroupState:
    group_id: str
    approach: str
    colour: SignalColour
    next_change_ns: int = 0


@dataclass(frozen=True)
class SignalState:
    rsu_id: str
    intersection_id: str
    valid_at_ns: int
    groups: tuple[SignalGroupState, ...] = ()


@dataclass(frozen=True, slots=True)
class VehicleReport:
    """A connected vehicle's own state: WGS84 position (deg), speed (m/s), heading (rad, CCW
    from east), size (m), the automated-driving permit it drives under."""

    vehicle_id: str
    vehicle_class: ObjectClass
    latitude_deg: float
    longitude_deg: float
    speed_mps: float
    heading_rad: float
    size: Size3
    measured_at_ns: int
    permit_id: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """Something an RSU noticed; ``x_m``/``y_m`` in the RSU's ENU frame, ``value`` as the kind
    says (the speed in m/s for ``ZONE_SPEEDING``)."""

    kind: EventKind
    occurred_at_ns: int
    zone_id: str = ""
    vehicle_id: str = ""
    track_id: int = 0
    x_m: float = 0.0
    y_m: float = 0.0
    value: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CommandAck:
    command_id: str
    version: int
    status: AckStatus
    detail: str = ""
    acked_at_ns: int = 0


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An event or an acknowledgement, numbered once for ever by its RSU."""

    rsu_id: str
    sequence: int
    created_at_ns: int
    body: Event | CommandAck


@dataclass(frozen=True, slots=True)
class UpsertZone:
    zone: Zone


@dataclass(frozen=True, slots=True)
class DeleteZone:
    zone_id: str
    version: int


@dataclass(frozen=True, slots=True)
class Command:
    """An order to one RSU; the RSU ignores a ``version`` at or below the one it holds (a
    zone's version; for a ``SignalCommand``, the version of its intersection's plan)."""

    command_id: str
    version: int
    issued_at_ns: int
    body: UpsertZone | DeleteZone | SignalCommand


@dataclass(frozen=True, slots=True)
class SignedCommand:
    """A command as the twin sends it: a serialized ``Command`` (``command``), the RSU it is
    for, when it was sent, and the twin's Ed25519 signature by key ``key_id``
    (``vicoop.signing``)."""

    rsu_id: str
    sent_at_ns: int
    command: bytes
    key_id: str
    signature: bytes
