"""The cloud service's configuration (``vicoop cloud run --config FILE``), validated once."""

from __future__ import annotations

from typing import Literal

import sqlalchemy.engine
import sqlalchemy.exc
from pydantic import Field, field_validator, model_validator

from cloud.twin import TwinLimits
from vicoop.config import StrictModel
from vicoop.mqtt import MqttAuthConfig, check_mqtt_settings

Role = Literal["viewer", "operator", "admin"]


class TokenConfig(StrictModel):
    """A bearer token of the control API and who holds it."""

    token: str = Field(min_length=16, max_length=200)
    name: str = Field(min_length=1, max_length=64)
    role: Role = "viewer"


class CloudConfig(StrictModel):
    """Everything the cloud twin needs; every field has a default for one machine."""

    # mqtt://[user@]host:port of the broker, mqtts:// for TLS (port 8883); None starts an
    # embedded (amqtt) broker in this process.
    mqtt_url: str | None = None
    # The twin's identity at the broker: ca_file, cert_file/key_file (`vicoop certs twin`, CN
    # vicoop-twin: the broker's ACL lets only it publish commands and receipts), username,
    # password_file.
    mqtt_auth: MqttAuthConfig = MqttAuthConfig()
    # SQLAlchemy URL of the system of record (PostgreSQL in production).
    db_url: str = "sqlite:///vicoop-cloud.sqlite3"
    http_host: str = "127.0.0.1"
    # 0 picks a free port.
    http_port: int = Field(8080, ge=0, le=65535)
    # API tokens; when empty, one token per role is generated at start and logged.
    tokens: tuple[TokenConfig, ...] = ()
    # An RSU silent this long counts as offline (its last will usually says so sooner).
    offline_after_s: float = Field(30.0, gt=0)
    # Unacknowledged commands are sent again after this long.
    command_resend_s: float = Field(5.0, gt=0)
    # MQTT 5 shared-subscription group of the twin workers that share one database (PostgreSQL):
    # each RSU outbox message goes to one worker of the group; every worker still receives every
    # status, summary, signal and vehicle report (the whole live picture). Unset: one worker.
    shared_group: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]+$")
    # Seconds between checks of the database for zone changes made through other workers.
    zone_sync_s: float = Field(1.0, gt=0, le=60)
    # Seconds between a follower's attempts to become the leader (the one worker that sends
    # zone commands), and between the leader's checks that it still is.
    leader_retry_s: float = Field(2.0, gt=0, le=60)
    # Seconds between live-object snapshots on the feed.
    feed_interval_s: float = Field(0.5, gt=0, le=60)
    # Caps on the twin's memory for ids a client chooses. At a cap, stale state is dropped first
    # and a new id that finds no room is refused, counted by the cap's name
    # (``TwinCounters.refused``); known ids keep working.
    # RSUs held (a status or frame from another id is refused).
    max_rsus: int = Field(1000, ge=1)
    # Objects kept from one RSU's frame (the rest of a larger frame is dropped).
    max_objects_per_rsu: int = Field(1000, ge=1)
    # Intersections with a signal state, and (intersection, approach) traffic measures.
    max_signals: int = Field(5000, ge=1)
    max_measures: int = Field(20_000, ge=1)
    # Vehicles whose latest report is kept (the least recently reporting go first).
    max_vehicle_reports: int = Field(10_000, ge=1)
    # Outbox sequences remembered per RSU to discard duplicates (older ones count as applied).
    seen_window: int = Field(4096, ge=16)
    # An RSU offline this long is forgotten from memory, with its signals and measures.
    forget_offline_after_s: float = Field(3600.0, gt=0)
    # A vehicle whose latest report is older than this leaves GET /api/v1/vehicles.
    vehicle_report_ttl_s: float = Field(30.0, gt=0)

    def twin_limits(self) -> TwinLimits:
        return TwinLimits(
            max_rsus=self.max_rsus,
            max_objects_per_rsu=self.max_objects_per_rsu,
            max_signals=self.max_signals,
            max_measures=self.max_measures,
            max_vehicle_reports=self.max_vehicle_reports,
            seen_window=self.seen_window,
            forget_offline_after_s=self.forget_offline_after_s,
            vehicle_report_ttl_s=self.vehicle_report_ttl_s,
        )

    # GET /metrics (Prometheus, vicoop_twin_...) on the API's port, behind a viewer token.
    metrics_enabled: bool = True

    @model_validator(mode="after")
    def _broker_settings_fit(self) -> CloudConfig:
        check_mqtt_settings(self.mqtt_url, self.mqtt_auth)
        return self

    @field_validator("db_url")
    @classmethod
    def _a_database_url(cls, url: str) -> str:
        try:
            sqlalchemy.engine.make_url(url)
        except sqlalchemy.exc.ArgumentError:
            raise ValueError(
                "not a database URL (e.g. postgresql+psycopg://user@host/db or "
                "sqlite:///file.sqlite3)"
            ) from None
        return url
