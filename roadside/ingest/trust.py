"""Which datagrams an RSU input believes: a source allowlist, and an optional HMAC trailer.

A sensor or controller input on UDP accepts, by default, a datagram from anywhere: on a sensor
network that is not isolated, anyone who can reach the port can forge a radar target (a valid
CRC is no proof of origin). Each UDP input's ``trust`` section narrows that:

- ``allow_from``: the sources accepted, each an address (``10.0.0.5``), a network
  (``10.0.0.0/24``) or either with a port (``10.0.0.5:40000``, ``[fd00::5]:40000``); a datagram
  from any other source is rejected (``source_not_allowed``). Empty: every source (the RSU says
  so at start);
- ``hmac_key_file``: a file holding a shared key (at least 16 bytes); every datagram must then
  end with a 32-byte trailer, HMAC-SHA256 over the rest of the datagram under that key, and is
  rejected when too short to hold one (``missing_hmac``) or when it does not match
  (``bad_hmac``: a forged, unsigned or altered datagram). The trailer is
  removed before the datagram is decoded, so the wire formats are otherwise unchanged. A
  sender computes it as ``hmac.new(key, payload, hashlib.sha256).digest()`` (``sign``).

Replays of a genuine datagram are left to what follows: each input's sequence check and time
window (``roadside.ingest.base``). Pure apart from reading the key file once, at start.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from roadside.ingest.base import ParseError
from vicoop.config import StrictModel
from vicoop.errors import ConfigError

__all__ = ["HMAC_BYTES", "DatagramGuard", "TrustConfig", "sign"]

log = logging.getLogger(__name__)

HMAC_BYTES = 32
MIN_KEY_BYTES = 16

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def sign(key: bytes, payload: bytes) -> bytes:
    """``payload`` with its HMAC trailer, as a sender with ``key`` sends it."""
    return payload + hmac.new(key, payload, hashlib.sha256).digest()


def _source(text: str) -> tuple[Network, int | None]:
    """``10.0.0.5``, ``10.0.0.0/24``, ``10.0.0.5:40000``, ``[fd00::5]:40000`` -> (net, port)."""
    host, port = text.strip(), None
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: [address] needs :port after it")
        host, port = inner, int(rest[1:])
    elif host.count(":") == 1:  # IPv4 with a port (IPv6 has several colons)
        host, _, p = host.partition(":")
        port = int(p)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{text!r}: port {port} is not 1..65535")
    return ipaddress.ip_network(host, strict=False), port


class TrustConfig(StrictModel):
    """A UDP input's trust (see the module)."""

    allow_from: tuple[str, ...] = Field(default=(), max_length=256)
    hmac_key_file: Path | None = None

    @field_validator("allow_from")
    @classmethod
    def _sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                _source(text)
            except ValueError as exc:
                raise ValueError(
                    f"not an address, network or address:port ({exc}); e.g. 10.0.0.5, "
                    "10.0.0.0/24, 10.0.0.5:40000"
                ) from None
        return value

    def guard(self, field: str) -> DatagramGuard:
        """The guard this configures; ``field`` names the section in errors (the key file
        cannot be read, or is too short)."""
        key = None
        if self.hmac_key_file is not None:
            try:
                key = self.hmac_key_file.read_bytes().strip()
            except OSError as exc:
                raise ConfigError(
                    f"{field}.hmac_key_file: cannot read {self.hmac_key_file}: "
                    f"{exc.strerror or exc}"
                ) from None
            if len(key) < MIN_KEY_BYTES:
                raise ConfigError(
                    f"{field}.hmac_key_file: {self.hmac_key_file} holds {len(key)} bytes; "
                    f"a key is at least {MIN_KEY_BYTES}"
                )
        if not self.allow_from and key is None:
            log.warning(
                "%s: accepting datagrams from any source, unsigned (set trust.allow_from "
                "and/or trust.hmac_key_file where the sensor network is not isolated)",
                field,
            )
        return DatagramGuard(tuple(_source(t) for t in self.allow_from), key)


@dataclass(frozen=True, slots=True)
class DatagramGuard:
    """Checks a datagram's source and trailer (see the module). Pure."""

    allow: tuple[tuple[Network, int | None], ...] = ()
    key: bytes | None = None

    def check(self, data: bytes, addr: tuple[str, int]) -> bytes:
        """The payload to decode (the trailer removed); ``ParseError`` when the source is not
        allowed or the trailer is missing or wrong."""
        if self.allow and not self._allowed(addr):
            raise ParseError("source_not_allowed", f"from {addr[0]}:{addr[1]}")
        if self.key is None:
            return data
        if len(data) < HMAC_BYTES:
            raise ParseError("missing_hmac", f"{len(data)} bytes, no room for a trailer")
        payload, trailer = data[:-HMAC_BYTES], data[-HMAC_BYTES:]
        if not hmac.compare_digest(trailer, hmac.new(self.key, payload, hashlib.sha256).digest()):
            raise ParseError("bad_hmac", f"from {addr[0]}:{addr[1]}")
        return payload

    def _allowed(self, addr: tuple[str, int]) -> bool:
        try:
            ip = ipaddress.ip_address(addr[0].split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net and port in (None, addr[1]) for net, port in self.allow)
