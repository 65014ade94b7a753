"""The RSU daemon's configuration, validated once at start (``vicoop rsu run --config FILE``).

Every field has an embedded default, so ``RsuConfig()`` is a working demo RSU. Units are in the
field names; positions in the site's ENU frame.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from roadside.cloudlink.config import CloudLinkConfig
from roadside.map_config import MapConfig
from roadside.sources.fused_config import SensorsSourceConfig, kind_or
from roadside.spat.config import SpatConfig
from roadside.supervisor.config import SupervisorConfig
from vicoop.config import StrictModel
from vicoop.metrics import MetricsConfig
from vicoop.model import GeodeticOrigin
from vicoop.serving.peers import ConnectionLimits
from vicoop.serving.reports import ReportLimits
from vicoop.serving.tls import ServerTlsConfig


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
    # gRPC server reflection (grpcurl, grpcui list and call the services): off, since it shows
    # the API to anyone on the network; turn it on while debugging.
    reflection: bool = False
    # TLS: cert_file, key_file, and client_ca_file to require vehicles' client certificates
    # (mutual TLS); absent: plaintext. The files are read again on SIGHUP.
    tls: ServerTlsConfig | None = None
    # Streams one client (its certificate's CN under mutual TLS, else its IP address) may hold
    # open, StreamPerception, StreamZones, StreamSpat and ReportVehicleState together; more get
    # RESOURCE_EXHAUSTED.
    max_streams_per_peer: int = Field(64, ge=1, le=100_000)
    # The server pings a connection this often (s) and drops it when a ping is unanswered
    # for keepalive_timeout_s.
    keepalive_time_s: float = Field(10.0, gt=0, le=3600)
    keepalive_timeout_s: float = Field(5.0, gt=0, le=600)
    # A client pinging more often than this (s) without data gets a strike; max_ping_strikes
    # of them close its connection.
    min_ping_interval_s: float = Field(5.0, gt=0, le=3600)
    max_ping_strikes: int = Field(2, ge=0, le=1000)
    # A connection with no call open for this long (s) is closed.
    max_connection_idle_s: float = Field(300.0, gt=0, le=86_400)
    # A connection that has not finished its TLS and HTTP/2 handshake within this (s) is closed.
    handshake_timeout_s: float = Field(10.0, gt=0, le=300)

    def to_limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            max_streams_per_peer=self.max_streams_per_peer,
            keepalive_time_s=self.keepalive_time_s,
            keepalive_timeout_s=self.keepalive_timeout_s,
            min_ping_interval_s=self.min_ping_interval_s,
            max_ping_strikes=self.max_ping_strikes,
            max_connection_idle_s=self.max_connection_idle_s,
            handshake_timeout_s=self.handshake_timeout_s,
        )


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
    # Refuse (UNAUTHENTICATED) a report stream that proves no vehicle identity: neither the
    # twin's credential (checked with cloud.command_keys) nor a client certificate
    # (server.tls.client_ca_file). Off: such streams report as before, unchecked, and the RSU
    # says so at start; a stream that does present one is always held to it.
    require_vehicle_identity: bool = False

    def to_limits(self) -> ReportLimits:
        return ReportLimits(**self.model_dump(exclude={"require_vehicle_identity"}))


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

    @model_validator(mode="after")
    def _broker_certificate_is_this_rsus(self) -> RsuConfig:
        """The broker knows an RSU by its certificate's CN (its ACL user): another RSU's
        certificate would publish under that RSU's id, or be refused on every topic."""
        path = self.cloud.mqtt_auth.cert_file
        if path is None:
            return self
        from vicoop import certs  # cryptography: the roadside extra

        try:
            name = certs.common_name(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cloud.mqtt_auth.cert_file {path}: {exc}") from None
        if name != self.rsu_id:
            raise ValueError(
                f"cloud.mqtt_auth.cert_file {path}: its CN {name!r} is not this RSU's id "
                f"{self.rsu_id!r} (the broker knows the RSU by it: vicoop certs rsu {self.rsu_id})"
            )
        return self
