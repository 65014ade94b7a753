"""Configuration of the signal controller adapters, one model per adapter, chosen by ``kind``.

::

    controller:
      kind: ntcip1202          # or udp_json, sumo
      intersection_id: junction-1
      host: 10.0.0.20
      phases:
        - {phase: 2, signal_group: 2}
        - {phase: 4, signal_group: 4, green: permissive}

Signal group numbers are J2735 ``SignalGroupID``s (1..255), the ones the intersection's MAP
uses; each adapter maps its controller's own names (a JSON ``group_id``, SUMO link indices, an
NTCIP phase) onto them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from roadside.ingest.trust import TrustConfig
from vicoop.config import StrictModel

GreenKind = Literal["protected", "permissive"]
IntersectionId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
SignalGroup = Annotated[int, Field(ge=1, le=255)]


def _unique(values: list[int], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"each {what} may be mapped once")


class UdpJsonGroupMap(StrictModel):
    """One JSON ``group_id`` as a J2735 signal group; ``green``: what its green means."""

    group_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    signal_group: SignalGroup
    green: GreenKind = "protected"


class UdpJsonControllerConfig(StrictModel):
    """The JSON-over-UDP controller feed (format: ``roadside.ingest.signal``)."""

    kind: Literal["udp_json"] = "udp_json"
    intersection_id: IntersectionId = "junction-1"
    # Address the input listens on; 0.0.0.0 to hear a controller on the network; port 0: free.
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    # Seconds without a valid datagram after which every group is UNAVAILABLE.
    stale_after_s: float = Field(3.0, gt=0, le=3600)
    # The feed's group_ids as signal groups; a group_id not listed is counted and left out.
    groups: tuple[UdpJsonGroupMap, ...] = Field(min_length=1)
    # Whether the feed's next_change_ns is the controller's exact switching time (a fixed-time
    # controller that knows it); if not, it is a hint and min/max end stay unknown.
    next_change_is_exact: bool = False
    # Which sources are believed: allowlist and HMAC trailer (roadside.ingest.trust).
    trust: TrustConfig = TrustConfig()

    @model_validator(mode="after")
    def _check(self) -> UdpJsonControllerConfig:
        _unique([g.signal_group for g in self.groups], "signal_group")
        if len({g.group_id for g in self.groups}) != len(self.groups):
            raise ValueError("each group_id may be mapped once")
        return self


class SumoGroupMap(StrictModel):
    """The SUMO link indices (positions in the traffic light's state string) of one group."""

    signal_group: SignalGroup
    links: tuple[Annotated[int, Field(ge=0, le=1023)], ...] = Field(min_length=1)


class SumoControllerConfig(StrictModel):
    """A SUMO traffic light read through libsumo (the rig's in-process SUMO) or TraCI."""

    kind: Literal["sumo"] = "sumo"
    intersection_id: IntersectionId = "junction-1"
    tls_id: str = Field(min_length=1, max_length=256)
    # libsumo: the simulation already running in this process; traci: connect to host:port.
    backend: Literal["libsumo", "traci"] = "libsumo"
    traci_host: str = "127.0.0.1"
    traci_port: int = Field(8813, ge=1, le=65535)
    stale_after_s: float = Field(3.0, gt=0, le=3600)
    # Groups by link index; empty: one group per link, link i as signal group i + 1.
    groups: tuple[SumoGroupMap, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> SumoControllerConfig:
        _unique([g.signal_group for g in self.groups], "signal_group")
        _unique([i for g in self.groups for i in g.links], "link")
        return self


class NtcipPhaseMap(StrictModel):
    """One NTCIP phase's vehicle or pedestrian indication as a J2735 signal group."""

    phase: int = Field(ge=1, le=255)
    signal_group: SignalGroup
    # vehicle: the phase's red/yellow/green; pedestrian: its don't walk/ped clear/walk.
    movement: Literal["vehicle", "pedestrian"] = "vehicle"
    green: GreenKind = "protected"


def _default_phases() -> tuple[NtcipPhaseMap, ...]:
    return tuple(NtcipPhaseMap(phase=p, signal_group=p) for p in range(1, 9))


class Ntcip1202ControllerConfig(StrictModel):
    """An NTCIP 1202 (v2/v3) actuated signal controller polled over SNMP v1/v2c."""

    kind: Literal["ntcip1202"] = "ntcip1202"
    intersection_id: IntersectionId = "junction-1"
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(161, ge=1, le=65535)
    community: str = Field("public", min_length=1, max_length=64)
    version: Literal["v1", "v2c"] = "v2c"
    # Polls per second of the phase status groups and unit status; the timing is read at start
    # and again every program_refresh_s.
    poll_rate_hz: float = Field(10.0, gt=0, le=50)
    timeout_s: float = Field(0.5, gt=0, le=30)
    retries: int = Field(0, ge=0, le=5)
    program_refresh_s: float = Field(300.0, gt=0, le=86_400)
    stale_after_s: float = Field(2.0, gt=0, le=3600)
    # The mode to report when the controller runs on its own (unitControlStatus timebase,
    # backup, other): actuated for an actuated controller, fixed_time for a pretimed one.
    local_mode: Literal["actuated", "fixed_time"] = "actuated"
    # Phases as signal groups; the default maps vehicle phases 1-8 to groups 1-8.
    phases: tuple[NtcipPhaseMap, ...] = Field(default_factory=_default_phases, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Ntcip1202ControllerConfig:
        _unique([p.signal_group for p in self.phases], "signal_group")
        keys = [(p.phase, p.movement) for p in self.phases]
        if len(set(keys)) != len(keys):
            raise ValueError("each phase's vehicle or pedestrian movement may be mapped once")
        return self


# The adapter named by ``kind`` (required: which controller it is is never guessed).
ControllerConfig = Annotated[
    UdpJsonControllerConfig | SumoControllerConfig | Ntcip1202ControllerConfig,
    Field(discriminator="kind"),
]
