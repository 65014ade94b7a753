"""The RSU's ``VehicleAuthenticator`` (``vicoop.serving.identity``): a vehicle's identity from
the twin's credential in its call metadata (``authorization: Bearer v1....``, checked against
the twin's public keys, the ones that sign its commands: ``cloud.command_keys``) or from its
client certificate (mutual TLS: ``server.tls.client_ca_file``). A credential, when given, wins:
it also carries the permits. Pure apart from the keys loaded at start; time is passed in."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vicoop.serving.identity import IdentityRefused, VehicleIdentity
from vicoop.signing import CommandRefused, open_credential

__all__ = ["CredentialAuthenticator"]

log = logging.getLogger(__name__)


class CredentialAuthenticator:
    """See the module; ``required``: a stream that proves no identity is refused."""

    def __init__(
        self, keys: Mapping[str, Ed25519PublicKey], *, certificates: bool, required: bool
    ) -> None:
        self.keys = dict(keys)
        self.certificates = certificates
        self.required = required
        if not self.keys and not certificates:
            log.warning(
                "vehicle reports are not authenticated: no vehicle credentials are configured "
                "(cloud.command_keys for the twin's credentials, or server.tls.client_ca_file "
                "for vehicle certificates); any client may report any vehicle_id and permit"
            )

    def identify(
        self, metadata: Mapping[str, str], certificate_cn: str | None, now_ns: int
    ) -> VehicleIdentity | None:
        header = metadata.get("authorization", "")
        if header:
            if not header.lower().startswith("bearer "):
                raise IdentityRefused("malformed", "authorization is not 'Bearer CREDENTIAL'")
            try:
                credential = open_credential(header[7:].strip(), self.keys, now_ns)
            except CommandRefused as exc:
                raise IdentityRefused(exc.reason, str(exc)) from None
            if certificate_cn is not None and certificate_cn != credential.vehicle_id:
                raise IdentityRefused(
                    "certificate_mismatch",
                    f"the credential is {credential.vehicle_id!r}'s, the certificate "
                    f"{certificate_cn!r}'s",
                )
            return VehicleIdentity(credential.vehicle_id, frozenset(credential.permits))
        if self.certificates and certificate_cn is not None:
            return VehicleIdentity(certificate_cn, frozenset(), source="certificate")
        return None
