"""Signed commands: the twin signs every command it sends an RSU; the RSU applies only what the
twin signed, for it, recently.

A ``SignedCommand`` carries a serialized ``vicoop.v1.Command`` (the bytes signed, so no
re-encoding can change what was signed), the RSU it is for, when the twin sent it, and an
Ed25519 signature by the key ``key_id`` over ``signed_bytes``: a domain tag, the RSU id, the
send time and the command. The RSU's ``CommandVerifier`` refuses (``CommandRefused`` with a
``reason``):

- ``unsigned``: not a signed command at all (a bare ``Command``, as anyone on the broker could
  publish);
- ``unknown_key``: a key id the RSU does not hold;
- ``bad_signature``: altered, or signed by another key;
- ``wrong_rsu``: signed for another RSU (replayed from that RSU's topic);
- ``stale`` / ``future``: sent more than ``max_age_s`` ago or ``max_future_s`` ahead of the
  RSU's clock (a recorded command replayed later). The twin signs each send afresh, so a
  command waiting for an offline RSU is fresh when it finally goes out.

Replays inside the freshness window change nothing: commands are idempotent by version. Key
rotation: give the RSUs the new public key beside the old one (``key_id`` tells them apart),
switch the twin's signing key, then remove the old key from the RSUs.

Needs ``cryptography`` (the ``roadside`` and ``cloud`` extras).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vicoop.cloudmodel import SignedCommand
from vicoop.errors import ConfigError, VicoopError

__all__ = [
    "CommandRefused",
    "CommandSigner",
    "CommandVerifier",
    "VehicleCredential",
    "b64url",
    "issue_credential",
    "load_private_key",
    "load_public_key",
    "open_credential",
    "signed_bytes",
    "unb64url",
    "write_key_pair",
]

NS_PER_S = 1_000_000_000
_DOMAIN = b"vicoop.v1.SignedCommand\x00"


class CommandRefused(VicoopError):
    """A command the RSU does not apply; ``reason`` is a short key for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def signed_bytes(rsu_id: str, sent_at_ns: int, command: bytes) -> bytes:
    """What the signature covers: a domain tag, the RSU id, the send time, the command."""
    rsu = rsu_id.encode()
    return b"".join(
        (
            _DOMAIN,
            len(rsu).to_bytes(2, "big"),
            rsu,
            sent_at_ns.to_bytes(8, "big", signed=True),
            command,
        )
    )


class CommandSigner:
    """The twin's side: signs commands with ``key`` under ``key_id``."""

    def __init__(self, key: Ed25519PrivateKey, key_id: str) -> None:
        self.key = key
        self.key_id = key_id

    def sign(self, rsu_id: str, command: bytes, now_ns: int) -> SignedCommand:
        signature = self.key.sign(signed_bytes(rsu_id, now_ns, command))
        return SignedCommand(rsu_id, now_ns, command, self.key_id, signature)


class CommandVerifier:
    """The RSU's side: ``open`` a signed command for ``rsu_id`` with the public ``keys`` it
    holds (key id -> key); pure, time passed in."""

    def __init__(
        self,
        rsu_id: str,
        keys: Mapping[str, Ed25519PublicKey],
        max_age_s: float = 60.0,
        max_future_s: float = 5.0,
    ) -> None:
        self.rsu_id = rsu_id
        self.keys = dict(keys)
        self.max_age_ns = int(max_age_s * NS_PER_S)
        self.max_future_ns = int(max_future_s * NS_PER_S)

    def open(self, signed: SignedCommand, now_ns: int) -> bytes:
        """The serialized command, once signature, target and freshness hold."""
        key = self.keys.get(signed.key_id)
        if key is None:
            raise CommandRefused(
                "unknown_key", f"signed by key {signed.key_id!r}, not one this RSU holds"
            )
        try:
            key.verify(
                signed.signature, signed_bytes(signed.rsu_id, signed.sent_at_ns, signed.command)
            )
        except InvalidSignature:
            raise CommandRefused("bad_signature", f"not signed by key {signed.key_id!r}") from None
        if signed.rsu_id != self.rsu_id:
            raise CommandRefused("wrong_rsu", f"signed for RSU {signed.rsu_id!r}")
        age = now_ns - signed.sent_at_ns
        if age > self.max_age_ns:
            raise CommandRefused("stale", f"sent {age / NS_PER_S:.1f} s ago")
        if -age > self.max_future_ns:
            raise CommandRefused(
                "future", f"sent {-age / NS_PER_S:.1f} s ahead of this RSU's clock"
            )
        return signed.command


def write_key_pair(private_path: Path, public_path: Path) -> None:
    """A new Ed25519 key pair as PEM files (the private one readable by its owner only)."""
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_private_key(path: Path, field: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; ``ConfigError`` naming ``field`` otherwise."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"{field}: cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{field}: {path} is not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{field}: {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path, field: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; ``ConfigError`` naming ``field`` otherwise."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{field}: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{field}: {path} is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{field}: {path} is not an Ed25519 key")
    return key


# -- vehicle credentials ---------------------------------------------------------------------

_CREDENTIAL_DOMAIN = b"vicoop.v1.VehicleCredential\x00"
MAX_CREDENTIAL_CHARS = 4096


@dataclass(frozen=True, slots=True)
class VehicleCredential:
    """What the twin vouches for: a vehicle id, its automated-driving permits, until when."""

    vehicle_id: str
    permits: tuple[str, ...]
    expires_at_ns: int


def issue_credential(signer: CommandSigner, credential: VehicleCredential) -> str:
    """``v1.KEY_ID.PAYLOAD.SIGNATURE`` (base64url): the credential signed by the twin's key
    (another domain tag than commands', so neither passes for the other)."""
    payload = json.dumps(
        {
            "vehicle_id": credential.vehicle_id,
            "permits": list(credential.permits),
            "expires_at_ns": credential.expires_at_ns,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    signature = signer.key.sign(_CREDENTIAL_DOMAIN + payload)
    return f"v1.{signer.key_id}.{b64url(payload)}.{b64url(signature)}"


def open_credential(
    token: str, keys: Mapping[str, Ed25519PublicKey], now_ns: int
) -> VehicleCredential:
    """The credential in ``token`` once its signature and expiry hold; ``CommandRefused``
    (``malformed``, ``unknown_key``, ``bad_signature``, ``expired``) otherwise."""
    parts = token.split(".")
    if len(token) > MAX_CREDENTIAL_CHARS or len(parts) != 4 or parts[0] != "v1":
        raise CommandRefused("malformed", "not a v1.KEY_ID.PAYLOAD.SIGNATURE credential")
    _, key_id, payload_b64, signature_b64 = parts
    key = keys.get(key_id)
    if key is None:
        raise CommandRefused("unknown_key", f"signed by key {key_id[:64]!r}, not one held here")
    try:
        payload, signature = unb64url(payload_b64), unb64url(signature_b64)
        key.verify(signature, _CREDENTIAL_DOMAIN + payload)
    except (ValueError, InvalidSignature):
        raise CommandRefused("bad_signature", f"not signed by key {key_id!r}") from None
    doc = json.loads(payload)  # signed by the twin: its own JSON
    credential = VehicleCredential(
        str(doc["vehicle_id"]), tuple(str(p) for p in doc["permits"]), int(doc["expires_at_ns"])
    )
    if now_ns >= credential.expires_at_ns:
        raise CommandRefused("expired", f"the credential of {credential.vehicle_id!r} expired")
    return credential


def b64url(data: bytes) -> str:
    """Unpadded base64url, as tokens carry it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of unpadded base64url text; ``ValueError`` when it is not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
