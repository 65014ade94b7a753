"""The RSU daemon's configuration, validated once at start (``vicoop rsu run --config FILE``).

Every field has an embedded default, so ``RsuConfig()`` is a working demo RSU. Units are in the
field names; positions in the site's ENU frame.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from roadside.cloudlink.config import CloudLinkConfig
from roadside.map_config import MapConfig
from roadside.sources.fused_config import SensorsSourceConfig, kind_or
from roadside.spat.config import SpatConfig
from roadside.supervisor.config import SupervisorConfig
from vicoop.config import StrictModel
from vicoop.metrics import MetricsConfig
from vicoop.model import GeodeticOrigin
from vicoop.serving.reports import ReportLimits


class OriginConfig(StrictModel):
    """The site's geodetic origin (WGS84): the origin of its ENU frame."""

    latitude_deg: float = Field(50.9375, ge=-90, le=90)
    longitude_deg: float = Field(6.9603, ge=-180, le=180)
    altitude_m: float = Field(55.0, ge=-1000, le=10000)

    def to_model(self) -> GeodeticOrigin:
        return GeodeticOrigin(self.latitude_deg, self.longitude_deg, self.altitude_m)


class ServerConfig(StrictModel):
    """The gRPC server vehicles subscribe to."""

    host: str = "127.0.0.1"
    # 0 picks a free port (the daemon logs the one it got).
    port: int = Field(50051, ge=0, le=65535)
    # On SIGTERM/SIGINT, streams get this long to finish before they are cancelled.
    grace_period_s: float = Field(2.0, ge=0, le=60)
    # Subscriptions beyond this get RESOURCE_EXHAUSTED.
    max_subscribers: int = Field(2000, ge=1, le=100_000)
    # Frames waiting per subscriber; when full the oldest is dropped (latest wins) and counted.
    queue_frames: int = Field(4, ge=1, le=1000)
    reflection: bool = True


class PublishConfig(StrictModel):
    """The publish loop."""

    rate_hz: float = Field(20.0, gt=0, le=100)
    # How often the daemon logs its counters (subscribers, frames, drops, rejected requests).
    stats_log_interval_s: float = Field(60.0, gt=0)


class SyntheticSourceConfig(StrictModel):
    """Built-in synthetic traffic through a four-arm intersection at the origin."""

    kind: Literal["synthetic"] = "synthetic"
    objects: int = Field(24, ge=0, le=10_000)
    seed: int = 1
    # Half the length of each arm of the intersection, metres.
    arm_length_m: float = Field(100.0, gt=5, le=5000)


class ReportsConfig(StrictModel):
    """What the RSU accepts of connected vehicles' reports of their own state
    (``ReportVehicleState``), and how it matches them with its tracks."""

    # Reports faster than this (m/s) are implausible; it also bounds the jump between reports.
    max_speed_mps: float = Field(70.0, gt=0, le=200)
    # Metres of GNSS error allowed on top of a jump at max_speed_mps between two reports.
    jump_margin_m: float = Field(10.0, ge=0, le=1000)
    # Reports farther than this from the origin (metres) are rejected.
    max_distance_m: float = Field(1000.0, gt=0, le=100_000)
    # A report measured longer ago than this (s), or further in the future than
    # max_future_s, is rejected (clocks must be synchronised).
    max_age_s: float = Field(2.0, gt=0, le=60)
    max_future_s: float = Field(0.5, ge=0, le=60)
    # A vehicle id stays with the stream reporting it until the stream closes or stays silent
    # this long (s); other streams claiming it meanwhile are rejected.
    id_hold_s: float = Field(10.0, gt=0, le=3600)
    # A report is matched with tracks for this long (s) after it was measured.
    associate_for_s: float = Field(1.0, gt=0, le=60)
    # Largest distance (m) between a report, predicted to the frame's time, and a track's centre.
    gate_m: float = Field(5.0, gt=0, le=100)

    def to_limits(self) -> ReportLimits:
        return ReportLimits(**self.model_dump())


class RsuConfig(StrictModel):
    """Everything an RSU daemon needs to start."""

    rsu_id: str = Field("rsu-demo-1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    origin: OriginConfig = OriginConfig()
    server: ServerConfig = ServerConfig()
    publish: PublishConfig = PublishConfig()
    # Tagged union on `kind`: "synthetic" (default) or "sensors" (roadside.sources.fused_config);
    # further kinds (the HIL rig) join it.
    source: Annotated[
        Annotated[SyntheticSourceConfig, Tag("synthetic")]
        | Annotated[SensorsSourceConfig, Tag("sensors")],
        Discriminator(kind_or("synthetic")),
    ] = SyntheticSourceConfig()
    reports: ReportsConfig = ReportsConfig()
    # The MQTT link to the cloud twin; off by default.
    cloud: CloudLinkConfig = CloudLinkConfig()
    # The intersections' signal controllers: SPaT streamed to vehicles (StreamSpat); none by
    # default.
    spat: SpatConfig = SpatConfig()
    # The MAP of the site's intersections (lanes, stop lines, connections, signal groups,
    # conflicts, crosswalks), served to vehicles (GetMap); none by default.
    map: MapConfig = MapConfig()
    # The safety supervisor between the cloud's signal commands and the controllers (floors,
    # max red, fallback to the site programs); off by default.
    supervisor: SupervisorConfig = SupervisorConfig()
    # Prometheus /metrics (vicoop_rsu_...); port 0 picks a free one, enabled: false turns it off.
    metrics: MetricsConfig = MetricsConfig()
