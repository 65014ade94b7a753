"""TLS of the RSU's gRPC server: its certificate and key, and (when the site asks for vehicle
certificates) the CA a client certificate must be signed by; reloaded without a restart.

``ServerTlsConfig`` is the typed configuration (``server.tls`` of the RSU's file); validating it
reads the files, so a missing, unreadable or mismatched one is one error naming the field and
the file. ``ServerTls`` holds what was read and gives grpc its credentials: grpc asks it for the
certificates at every new connection (``dynamic_ssl_server_credentials``), so after ``reload()``
(the daemon's SIGHUP) new connections get the new certificate and open ones keep theirs.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from pydantic import model_validator

from vicoop.config import StrictModel
from vicoop.errors import ConfigError

__all__ = ["ServerTls", "ServerTlsConfig", "TlsMaterial", "read_tls_material"]

log = logging.getLogger(__name__)

# A certificate, key or CA file is at most this many bytes (a chain of a few certificates).
MAX_PEM_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM bytes: the server's certificate chain and key, and the CA of client certificates
    (None: clients are not asked for one)."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None


class ServerTlsConfig(StrictModel):
    """TLS of the gRPC server (``server.tls``); absent: plaintext (a closed network only)."""

    # PEM certificate (chain) of the server; its SANs must name what vehicles dial.
    cert_file: Path
    # PEM private key of that certificate (keep it mode 0600).
    key_file: Path
    # PEM CA certificate(s) vehicles' client certificates must be signed by; set: mutual TLS,
    # a vehicle without such a certificate is refused at the handshake.
    client_ca_file: Path | None = None

    @model_validator(mode="after")
    def _files_are_usable(self) -> ServerTlsConfig:
        try:
            read_tls_material(self)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


def _read(field: str, path: Path, marker: bytes) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{field} {path}: cannot read the file: {exc.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise ConfigError(f"{field} {path}: larger than {MAX_PEM_BYTES} bytes")
    if marker not in data:
        what = "PEM private key" if b"KEY" in marker else "PEM certificate"
        raise ConfigError(f"{field} {path}: not a {what} (no {marker.decode()} line)")
    return data


def _check_certificates(field: str, path: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        raise ConfigError(f"{field} {path}: not a valid certificate ({exc.reason})") from None


def read_tls_material(config: ServerTlsConfig) -> TlsMaterial:
    """The files ``config`` names, checked: each readable PEM, the certificate valid and the key
    its own; ``ConfigError`` naming the field and the file otherwise."""
    cert = _read("cert_file", config.cert_file, b"-----BEGIN CERTIFICATE-----")
    key = _read("key_file", config.key_file, b"PRIVATE KEY-----")
    _check_certificates("cert_file", config.cert_file)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(config.cert_file, config.key_file)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"key_file {config.key_file}: not the key of cert_file {config.cert_file} "
            f"({exc.reason})"
        ) from None
    client_ca = None
    if config.client_ca_file is not None:
        client_ca = _read("client_ca_file", config.client_ca_file, b"-----BEGIN CERTIFICATE-----")
        _check_certificates("client_ca_file", config.client_ca_file)
    return TlsMaterial(cert, key, client_ca)


class ServerTls:
    """The server's current TLS material and the grpc credentials that serve it; ``reload()``
    reads the files again (a bad file is logged and counted, the old material stays).

    ``reloads`` and ``reload_failures`` count the outcomes."""

    def __init__(self, config: ServerTlsConfig) -> None:
        self.config = config
        self.material = read_tls_material(config)
        self.reloads = 0
        self.reload_failures = 0
        self._pending: grpc.ServerCertificateConfiguration | None = None

    @property
    def mutual(self) -> bool:
        """Whether clients must present a certificate signed by ``client_ca_file``."""
        return self.material.client_ca is not None

    @staticmethod
    def _certificate_configuration(m: TlsMaterial) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(m.private_key, m.cert_chain)], root_certificates=m.client_ca
        )

    def credentials(self) -> grpc.ServerCredentials:
        """Credentials for ``add_secure_port``; grpc asks ``_fetch`` for changes at each new
        connection."""
        return grpc.dynamic_ssl_server_credentials(
            self._certificate_configuration(self.material),
            self._fetch,
            require_client_authentication=self.mutual,
        )

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        # Called on grpc's own thread; None: keep the current certificates.
        pending, self._pending = self._pending, None
        return pending

    def reload(self) -> bool:
        """Read the files again; new connections get them. False (logged, counted) when a file
        is bad: the server keeps serving the certificates it had."""
        try:
            material = read_tls_material(self.config)
        except ConfigError as exc:
            self.reload_failures += 1
            log.error("TLS certificates not reloaded, still serving the previous ones: %s", exc)
            return False
        if (material.client_ca is None) != (self.material.client_ca is None):
            self.reload_failures += 1
            log.error("TLS certificates not reloaded: client_ca_file cannot appear or go away")
            return False
        self.material = material
        self._pending = self._certificate_configuration(material)
        self.reloads += 1
        log.info("TLS certificates reloaded from %s", self.config.cert_file)
        return True
