"""A pilot's certificates: its certificate authorities, the RSUs' gRPC server certificates and
the client certificates of RSUs, vehicles and the twin (``vicoop certs``), made with
``cryptography``.

Two authorities, so that a vehicle's certificate can never pass as an RSU's at the broker:

==============  ==================  ============================================================
file            signed by           what it is for
==============  ==================  ============================================================
``ca``          itself              the infrastructure CA: the broker and vehicles trust it
``vehicle-ca``  itself              the vehicles' CA: an RSU asking for vehicle certificates
                                    (``server.client_ca_file``) trusts it, the broker does not
``server``      ``ca``              an RSU's gRPC server (SANs: its DNS names and IP addresses)
                                    and the broker's TLS listener
``rsu.ID``      ``ca``              an RSU's MQTT client identity: CN and SAN DNS = its rsu_id
                                    (the broker's ``use_identity_as_username``)
``twin``        ``ca``              the twin's MQTT client identity: CN ``vicoop-twin``
``vehicle.ID``  ``vehicle-ca``      a vehicle's gRPC client identity: CN = its vehicle_id
==============  ==================  ============================================================

Keys are ECDSA P-256. The functions that make certificates are pure (the time is passed in);
``write`` stores one as ``NAME.pem`` (certificate) and ``NAME.key`` (key, PKCS#8 PEM, mode 0600).

This module imports cryptography (the ``roadside`` and ``cloud`` extras).
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "TWIN_IDENTITY",
    "Issued",
    "Role",
    "common_name",
    "issue",
    "load",
    "make_ca",
    "write",
]

# The twin's MQTT identity (the broker's ACL names it); no RSU may take this id.
TWIN_IDENTITY = "vicoop-twin"
# An identity is one MQTT topic level and a file name: the rsu_id / vehicle_id pattern.
_IDENTITY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Role(enum.StrEnum):
    """What a certificate is for (its extended key usage and subject)."""

    SERVER = "server"
    RSU = "rsu"
    VEHICLE = "vehicle"
    TWIN = "twin"


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vicoop pilot"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(common_name: str, *, now: dt.datetime, valid_days: int = 3650) -> Issued:
    """A self-signed CA named ``common_name``, valid from ``now`` (UTC) for ``valid_days``."""
    key = _key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _pem(key))


def issue(
    ca: Issued,
    role: Role,
    identity: str,
    *,
    now: dt.datetime,
    dns_names: tuple[str, ...] = (),
    ip_addresses: tuple[str, ...] = (),
    valid_days: int = 825,
) -> Issued:
    """A certificate for ``role`` signed by ``ca``, valid from ``now`` (UTC) for ``valid_days``.

    ``identity`` is the subject's CN: the server's name, the rsu_id, the vehicle_id or the
    twin's identity. A server certificate's SANs are ``dns_names`` and ``ip_addresses`` (at
    least one); an RSU's SAN is its rsu_id as a DNS name. ``ValueError`` saying what is wrong.
    """
    if not _IDENTITY.match(identity):
        raise ValueError(
            f"{role.value} identity {identity!r}: 1 to 64 of A-Z a-z 0-9 _ . - (an MQTT topic "
            "level and a file name)"
        )
    if role is Role.RSU and identity == TWIN_IDENTITY:
        raise ValueError(f"rsu id {identity!r} is the twin's identity at the broker")
    ips = []
    for text in ip_addresses:
        try:
            ips.append(ipaddress.ip_address(text))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address") from None
    sans: list[x509.GeneralName] = []
    if role is Role.SERVER:
        if not dns_names and not ips:
            raise ValueError("a server certificate needs at least one DNS name or IP address")
        sans = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(i) for i in ips]
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    elif dns_names or ips:
        raise ValueError(f"a {role.value} certificate takes no DNS names or IP addresses")
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
        if role is Role.RSU:
            sans = [x509.DNSName(identity)]
    ca_cert = ca.certificate
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA's key is not an ECDSA key made by vicoop certs")
    key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(identity))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _pem(key))


def common_name(cert_pem: bytes) -> str | None:
    """The subject CN of the first certificate in ``cert_pem`` (None: it has none);
    ``ValueError`` when it is not a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def write(directory: Path, name: str, issued: Issued, *, overwrite: bool = True) -> Path:
    """Store ``issued`` as ``directory/name.pem`` and ``directory/name.key`` (mode 0600, created
    so: never readable by others, not even for an instant); returns the certificate's path.
    ``FileExistsError`` when ``overwrite`` is false and the key exists."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / f"{name}.key"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(key_path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode otherwise
        f.write(issued.key_pem)
    cert_path = directory / f"{name}.pem"
    cert_path.write_bytes(issued.cert_pem)
    return cert_path


def load(directory: Path, name: str) -> Issued:
    """``directory/name.pem`` and ``directory/name.key`` as written by ``write``."""
    return Issued(
        (directory / f"{name}.pem").read_bytes(), (directory / f"{name}.key").read_bytes()
    )
