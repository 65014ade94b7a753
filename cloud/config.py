"""The cloud service's configuration (``vicoop cloud run --config FILE``), validated once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy.engine
import sqlalchemy.exc
from pydantic import Field, field_validator, model_validator

from cloud.auth import Role, token_digest
from cloud.twin import TwinLimits
from vicoop.config import StrictModel
from vicoop.mqtt import MqttAuthConfig, check_mqtt_settings


class TokenConfig(StrictModel):
    """A bearer token of the control API and who holds it. Give the token's SHA-256 digest
    (``token_sha256``, hex; ``vicoop cloud token-digest`` prints it) so the file holds no
    secret, or the token itself (``token``); exactly one of them. The service keeps digests
    only."""

    token: str | None = Field(None, min_length=16, max_length=200)
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=64)
    role: Role = "viewer"

    @model_validator(mode="after")
    def _one_secret(self) -> TokenConfig:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token and token_sha256")
        return self

    def digest(self) -> str:
        """The token's SHA-256 hex digest."""
        if self.token_sha256 is not None:
            return self.token_sha256
        assert self.token is not None
        return token_digest(self.token)


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
    # API tokens. Required unless ``dev``: a development twin with none generates one per role
    # at start and prints them.
    tokens: tuple[TokenConfig, ...] = ()
    # Development mode (``vicoop cloud run --dev``): tokens and the command signing key may be
    # generated at start.
    dev: bool = False
    # The Ed25519 private key (PEM) the twin signs every command to the RSUs with, and its key
    # id as the RSUs' cloud.command_keys name it (vicoop.signing; rotation: README). Required
    # unless dev. `vicoop cloud command-key PRIVATE.pem PUBLIC.pem` makes a pair.
    command_signing_key_file: Path | None = None
    command_key_id: str = Field(
        "twin-1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    # Request bodies larger than this (bytes) are refused (413) before they are read.
    max_body_bytes: int = Field(1 << 20, ge=1024, le=1 << 30)
    # Failed authentications allowed per client address in auth_failure_window_s; past them
    # the address is answered 429 until the window has moved on.
    auth_failures_allowed: int = Field(10, ge=1)
    auth_failure_window_s: float = Field(60.0, gt=0, le=3600)
    # Lifetime of the feed tokens the dashboard obtains for its event stream.
    feed_token_ttl_s: float = Field(60.0, gt=0, le=3600)
    # A file with the key (at least 32 bytes) that signs feed tokens, shared by twin workers
    # behind one load balancer; unset: a random key per worker.
    feed_token_key_file: Path | None = None
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
