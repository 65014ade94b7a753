"""The tracker's configuration (``source.tracker`` in an RSU's YAML). Units in the field names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vicoop.config import StrictModel


class MotionModelConfig(StrictModel):
    """One motion model of the IMM, by registry name (``cv``, ``ct``)."""

    name: Literal["cv", "ct"]
    # Acceleration noise power spectral density, (m/s^2)^2 per Hz.
    accel_psd: float = Field(default=2.0, gt=0, le=1000)
    # Turn-rate noise power spectral density, (rad/s^2)^2 per Hz.
    turn_psd: float = Field(default=0.05, ge=0, le=100)


class TrackerConfig(StrictModel):
    """Multi-sensor IMM tracker: gating, assignment, M-of-N track management, late measurements."""

    motion_models: tuple[MotionModelConfig, ...] = (
        MotionModelConfig(name="cv", accel_psd=2.0, turn_psd=1e-4),
        MotionModelConfig(name="ct", accel_psd=1.0, turn_psd=0.1),
    )
    # Mean time the target keeps one motion model, seconds (sets the IMM's switching rate).
    mean_sojourn_s: float = Field(default=3.0, gt=0, le=3600)
    # The tracker's parts by registry name: association, measurement model, class belief,
    # track management (confirmation and deletion) and track initiation.
    associator: Literal["hungarian"] = "hungarian"
    measurement_model: Literal["extended-object"] = "extended-object"
    class_belief: Literal["confusion"] = "confusion"
    manager: Literal["m-of-n"] = "m-of-n"
    initiator: Literal["single-point"] = "single-point"
    # Share of true measurements inside the Mahalanobis gate.
    gate_probability: float = Field(default=0.999, gt=0, lt=1)
    # A tentative track is confirmed with confirm_m hits in its last confirm_n opportunities
    # (scans whose coverage holds it), and deleted when it has not made it after confirm_n.
    confirm_m: int = Field(default=3, ge=1, le=32)
    confirm_n: int = Field(default=4, ge=1, le=32)
    # A confirmed track is deleted when it missed delete_m of its last delete_n opportunities ...
    delete_m: int = Field(default=6, ge=1, le=32)
    delete_n: int = Field(default=8, ge=1, le=32)
    # ... or when no sensor has updated it for this long (all silent, or it left every coverage).
    max_coast_s: float = Field(default=1.0, gt=0, le=60)
    # Measurements up to this much older than the newest one processed are fused in time order
    # (the tracker rolls back and replays); older ones are counted and dropped.
    late_window_s: float = Field(default=0.5, ge=0, le=10)
    # Measurements more than this after the time the tracker was last stepped to (the RSU's
    # clock) are counted as too early and dropped: a bad stamp cannot move the tracker's time.
    max_lead_s: float = Field(default=1.0, gt=0, le=60)
    # New tracks: velocity standard deviation (m/s) across what the sensor measured, turn rate's.
    init_speed_sigma_mps: float = Field(default=8.0, gt=0, le=100)
    init_turn_sigma_radps: float = Field(default=0.2, gt=0, le=10)

    @model_validator(mode="after")
    def _check(self) -> TrackerConfig:
        if self.confirm_m > self.confirm_n:
            raise ValueError(
                f"confirm_m ({self.confirm_m}) must not exceed confirm_n ({self.confirm_n})"
            )
        if self.delete_m > self.delete_n:
            raise ValueError(
                f"delete_m ({self.delete_m}) must not exceed delete_n ({self.delete_n})"
            )
        if not self.motion_models:
            raise ValueError("motion_models must name at least one model")
        return self
