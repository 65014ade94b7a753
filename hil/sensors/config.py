"""How the simulated sensors behave (the site file's ``simulation`` part). Units in the names."""

from __future__ import annotations

from pydantic import Field

from vicoop.config import StrictModel


class RadarSimConfig(StrictModel):
    """A simulated radar; its geometry and noise are the RSU's own configuration of it."""

    rate_hz: float = Field(default=20.0, gt=0, le=100)
    # Measurement time -> datagram sent (the radar's own processing).
    latency_ms: float = Field(default=10.0, ge=0, le=2000)
    # Detection probability at zero range and at the radar's maximum range; quadratic in between.
    p_detect_near: float = Field(default=0.98, ge=0, le=1)
    p_detect_far: float = Field(default=0.6, ge=0, le=1)
    # Pedestrians and cyclists reflect less: their detection probability is scaled by this.
    vulnerable_factor: float = Field(default=0.8, ge=0, le=1)
    # Mean number of false returns per cycle, uniform over the field of view.
    clutter_per_scan: float = Field(default=2.0, ge=0, le=1000)
    # An object is hidden when more than this share of it is behind nearer objects.
    occlusion_threshold: float = Field(default=0.7, gt=0, le=1)
    # Where on the footprint the reflection comes from: uniform over +- this share of its size.
    reflection_spread: float = Field(default=0.2, ge=0, le=0.5)


class CameraSimConfig(StrictModel):
    """A simulated camera detector; its calibration is the RSU's own configuration of it."""

    rate_hz: float = Field(default=10.0, gt=0, le=100)
    # Exposure -> detections sent (exposure, transfer and the detector's inference).
    latency_ms: float = Field(default=40.0, ge=0, le=2000)
    p_detect: float = Field(default=0.95, ge=0, le=1)
    # Boxes shorter than this are never detected; up to twice as tall, less and less often.
    min_box_height_px: float = Field(default=12.0, ge=0, le=1000)
    # Probability that the class is right (a wrong one is another vehicle class).
    p_class: float = Field(default=0.95, ge=0, le=1)
    # Mean number of false positives per frame.
    false_positives_per_frame: float = Field(default=0.2, ge=0, le=100)
    occlusion_threshold: float = Field(default=0.6, gt=0, le=1)
    # Standard deviation of each box edge, pixels.
    pixel_sigma_px: float = Field(default=2.0, ge=0, le=100)
