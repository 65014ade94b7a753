"""Configuration of the RSU's link to the cloud twin (the ``cloud`` section of the RSU file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from vicoop.config import StrictModel
from vicoop.mqtt import MqttAuthConfig, check_mqtt_settings


class IntersectionConfig(StrictModel):
    """A signalised intersection the RSU watches; centre in metres in the site's ENU frame."""

    intersection_id: str = Field(
        "junction-1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    center_x_m: float = 0.0
    center_y_m: float = 0.0


SignalSource = Literal["controller", "fixed_time", "none"]


class SignalsConfig(StrictModel):
    """Where the signal states the RSU publishes to the twin come from (``cloud.signals``)."""

    # "controller": the site's signal controller sends its states as JSON datagrams to host:port
    # (format: roadside/ingest/signal.py); an intersection with no state for stale_after_s is
    # published DARK (state unknown). "fixed_time": a built-in two-phase 60 s plan, a stand-in
    # for sites without a controller feed (its colours are made up, not the real lights').
    # "none": no signal states are published.
    source: SignalSource = "none"
    # Address the controller input listens on (UDP); 0.0.0.0 to hear a controller on the network.
    host: str = "127.0.0.1"
    # UDP port; 0 picks a free port (the daemon logs the one it got).
    port: int = Field(0, ge=0, le=65535)
    # Seconds without a state from the controller after which an intersection is published DARK.
    stale_after_s: float = Field(3.0, gt=0, le=3600)


class CommandKeyConfig(StrictModel):
    """A public key the RSU trusts to sign commands (the twin's; two during a rotation)."""

    key_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    public_key_file: Path


class CloudLinkConfig(StrictModel):
    """The MQTT link to the cloud twin. Off unless ``enabled``."""

    enabled: bool = False
    # mqtt://[user@]host:port of the broker the twin listens on; mqtts:// for TLS (port 8883).
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    # The RSU's identity at the broker: ca_file, cert_file/key_file (`vicoop certs rsu`, CN =
    # rsu_id), username, password_file. See deploy/mosquitto for the broker's side.
    mqtt_auth: MqttAuthConfig = MqttAuthConfig()
    # Perception summaries per second sent to the cloud (the vehicles' stream is not affected).
    summary_rate_hz: float = Field(2.0, gt=0, le=50)
    # Seconds between status messages (the status is also sent at every change of health).
    status_interval_s: float = Field(5.0, gt=0, le=3600)
    # After a background task of the RSU fails (it is restarted), the RSU reports DEGRADED for
    # this long, so the twin and the operators see it whatever the sensors say meanwhile.
    degraded_after_task_failure_s: float = Field(60.0, ge=0, le=86_400)
    # SQLite file of the outbox (events and acknowledgements awaiting the cloud's receipt) and zones.
    outbox_path: str = "/var/lib/vicoop/rsu-outbox.sqlite3"
    # A message without a receipt after this long is sent again; each further resend of it
    # waits twice as long (+-20 % jitter), at most resend_max_s (or resend_after_s if longer), so a twin slow to receipt is not
    # flooded with duplicates. A reconnection sends every waiting message at once and starts over.
    resend_after_s: float = Field(5.0, gt=0, le=3600)
    resend_max_s: float = Field(60.0, gt=0, le=3600)
    # Outbox messages held at most. Meant never to be reached (an outage or a full disk that
    # outlasts it): then a new message displaces the least important stored one (a rejected
    # vehicle report's notice first, safety events and acknowledgements last, oldest first
    # among equals), and the twin is told how many of which kind were dropped.
    max_outbox_messages: int = Field(100_000, ge=10, le=100_000_000)
    # Radius around the origin the RSU's sensors cover, metres: zones touching it are sent here.
    coverage_radius_m: float = Field(150.0, gt=0, le=10_000)
    intersections: tuple[IntersectionConfig, ...] = (IntersectionConfig(),)
    # Signal states of the intersections, published to the twin (topic ``signal``, retained).
    signals: SignalsConfig = SignalsConfig()
    # Caps on the zones the RSU holds, so its publish tick's zone work stays bounded; a zone
    # command past one is refused with an acknowledgement naming the cap (the twin shows it).
    max_zones: int = Field(200, ge=1, le=100_000)
    max_vertices_per_zone: int = Field(1000, ge=3, le=1000)
    max_total_vertices: int = Field(20_000, ge=3, le=10_000_000)
    # The twin's command-signing public keys (Ed25519 PEM, vicoop.signing): a command not
    # signed by one of them, for this RSU, is refused and reported. None configured: every
    # command is refused (the RSU says so at start).
    command_keys: tuple[CommandKeyConfig, ...] = Field(default=(), max_length=8)
    # A command sent longer ago than this (s, the twin's send time against the RSU's clock) is
    # refused as a replay; ahead of the RSU's clock by more than command_max_future_s, too.
    command_max_age_s: float = Field(60.0, gt=0, le=3600)
    command_max_future_s: float = Field(5.0, ge=0, le=3600)
    # A zone command more than this many versions past the one the RSU holds is refused.
    max_version_step: int = Field(1_000_000, ge=1, le=2**62)

    @model_validator(mode="after")
    def _broker_settings_fit(self) -> CloudLinkConfig:
        check_mqtt_settings(self.mqtt_url, self.mqtt_auth)
        return self
