"""TLS for a vehicle's connection to an RSU.

::

    tls = ClientTls.from_files("pilot-ca.pem", cert_file="car-7.pem", key_file="car-7.key")
    async with RoadsideClient("rsu-17.zone:50051", tls=tls) as rsu:
        ...

The RSU's certificate must be signed by ``ca`` (the pilot's CA; None: the system's trusted
roots) and name the host dialled (or ``server_name``, when dialling an address the certificate
does not name). A client certificate (``cert`` and ``key``) is needed where the RSU asks for
one (mutual TLS).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from vicoop.errors import ConfigError

__all__ = ["ClientTls"]


@dataclass(frozen=True, slots=True)
class ClientTls:
    """PEM bytes: the CA certificate(s) the RSU's certificate must chain to (None: the system's
    roots), and this vehicle's certificate chain and key (both or neither); ``server_name``
    overrides the name checked in the RSU's certificate (default: the target's host)."""

    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ConfigError("a client certificate needs its key, and a key its certificate")
        for name, value in (("ca", self.ca), ("cert", self.cert)):
            if value is not None and b"-----BEGIN CERTIFICATE-----" not in value:
                raise ConfigError(f"{name} is not a PEM certificate")
        if self.key is not None and b"PRIVATE KEY-----" not in self.key:
            raise ConfigError("key is not a PEM private key")

    @classmethod
    def from_files(
        cls,
        ca_file: str | Path | None = None,
        *,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        server_name: str | None = None,
    ) -> ClientTls:
        """Read the PEM files; ``ConfigError`` naming the file that cannot be read."""

        def read(path: str | Path | None) -> bytes | None:
            if path is None:
                return None
            try:
                return Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"{path}: cannot read the file: {exc.strerror}") from None

        return cls(read(ca_file), read(cert_file), read(key_file), server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )

    def channel_options(self) -> list[tuple[str, str]]:
        if self.server_name is None:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]
