"""Configuration of the RSU's link to the cloud twin (the ``cloud`` section of the RSU file)."""

from __future__ import annotations

from pydantic import Field

from vicoop.config import StrictModel


class IntersectionConfig(StrictModel):
    """A signalised intersection the RSU watches; centre in metres in the site's ENU frame."""

    intersection_id: str = Field(
        "junction-1", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    center_x_m: float = 0.0
    center_y_m: float = 0.0


class CloudLinkConfig(StrictModel):
    """The MQTT link to the cloud twin. Off unless ``enabled``."""

    enabled: bool = False
    # mqtt://host:port of the broker the twin listens on.
    mqtt_url: str = Field("mqtt://127.0.0.1:1883", pattern=r"^mqtt://[^:/]+(:\d+)?/?$")
    # Perception summaries per second sent to the cloud (the vehicles' stream is not affected).
    summary_rate_hz: float = Field(2.0, gt=0, le=50)
    # Seconds between status messages (the status is also sent at every change of health).
    status_interval_s: float = Field(5.0, gt=0, le=3600)
    # SQLite file of the outbox (events and acknowledgements awaiting the cloud's receipt) and zones.
    outbox_path: str = "/var/lib/vicoop/rsu-outbox.sqlite3"
    # A message without a receipt after this long is sent again.
    resend_after_s: float = Field(5.0, gt=0, le=3600)
    # Radius around the origin the RSU's sensors cover, metres: zones touching it are sent here.
    coverage_radius_m: float = Field(150.0, gt=0, le=10_000)
    intersections: tuple[IntersectionConfig, ...] = (IntersectionConfig(),)
