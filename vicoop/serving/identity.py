"""Who a report stream speaks for: the vehicle identity its credential carries.

A vehicle proves who it is with a client certificate (mutual TLS: its common name is its
vehicle id) or with a credential the twin issued (``authorization: Bearer v1....`` metadata on
``ReportVehicleState``: a signed vehicle id, the automated-driving permits it holds and an
expiry; checked by the RSU's ``VehicleAuthenticator``, ``roadside.vehicleauth``). Then

- a report whose ``vehicle_id`` is not the identity's is rejected (``not_your_id``): nobody
  reports, and labels a track, as another vehicle;
- a report's ``permit_id`` must be one the credential vouches for (``permit_not_held``): a
  permit is a signed credential, not a string a vehicle makes up.

A stream that presents neither is unauthenticated: refused (``UNAUTHENTICATED``) where the RSU
requires identities (``reports.require_vehicle_identity``), else taken as before. The pure
checks are here; the cryptography is behind the ``VehicleAuthenticator`` protocol, so the
vehicle library's fake RSU needs none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from vicoop.cloudmodel import VehicleReport
from vicoop.errors import VicoopError
from vicoop.serving.reports import ReportRejected

__all__ = ["IdentityRefused", "VehicleAuthenticator", "VehicleIdentity", "check_identity"]


class IdentityRefused(VicoopError):
    """A credential that does not hold (forged, expired, for no one); ``reason`` for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VehicleIdentity:
    """A vehicle id a credential proves, and the permits it vouches for (empty: none)."""

    vehicle_id: str
    permits: frozenset[str] = frozenset()
    source: str = "credential"  # "credential" or "certificate"


class VehicleAuthenticator(Protocol):
    """Tells a report stream's identity from its call metadata and TLS peer."""

    required: bool

    def identify(
        self, metadata: Mapping[str, str], certificate_cn: str | None, now_ns: int
    ) -> VehicleIdentity | None:
        """The identity the stream proves, None when it presents none; ``IdentityRefused``
        when what it presents does not hold."""
        ...


def check_identity(identity: VehicleIdentity, report: VehicleReport) -> None:
    """``ReportRejected`` unless ``report`` is the identity's own, with a permit it holds."""
    if report.vehicle_id != identity.vehicle_id:
        raise ReportRejected(
            "not_your_id",
            f"vehicle_id {report.vehicle_id!r} is not this stream's vehicle "
            f"{identity.vehicle_id!r} (its {identity.source})",
        )
    if report.permit_id and report.permit_id not in identity.permits:
        raise ReportRejected(
            "permit_not_held",
            f"permit_id {report.permit_id!r} is not one vehicle {identity.vehicle_id!r}'s "
            "credential vouches for",
        )
