"""``vicoop certs``: the files it writes, their modes, and who signed what."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from console.cli import main


def _cn(path: Path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _verifies(ca: Path, cert: Path, key: Path) -> bool:
    """Whether ``cert`` was signed by ``ca`` (and ``key`` is its key)."""
    ssl.create_default_context().load_cert_chain(cert, key)  # raises when they do not match
    issuer = x509.load_pem_x509_certificate(ca.read_bytes())
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    try:
        issued.verify_directly_issued_by(issuer)
    except (ValueError, InvalidSignature):
        return False
    return True


def test_a_pilots_certificates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    assert main(["certs", "ca", "--dir", d]) == 0
    assert main(["certs", "server", "--dir", d, "--dns", "rsu-1.local", "--ip", "10.0.0.5"]) == 0
    assert main(["certs", "rsu", "--dir", d, "rsu-1", "rsu-2"]) == 0
    assert main(["certs", "vehicle", "--dir", d, "car-7"]) == 0
    assert main(["certs", "twin", "--dir", d]) == 0
    for key in tmp_path.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert _cn(tmp_path / "rsu.rsu-2.pem") == "rsu-2"
    assert _cn(tmp_path / "vehicle.car-7.pem") == "car-7"
    assert _cn(tmp_path / "twin.pem") == "vicoop-twin"
    server = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["rsu-1.local"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    ca, vehicle_ca = tmp_path / "ca.pem", tmp_path / "vehicle-ca.pem"
    for name in ("server", "rsu.rsu-1", "twin"):
        assert _verifies(ca, tmp_path / f"{name}.pem", tmp_path / f"{name}.key")
        assert not _verifies(vehicle_ca, tmp_path / f"{name}.pem", tmp_path / f"{name}.key")
    # A vehicle's certificate is not the infrastructure CA's: the broker refuses it.
    vehicle = tmp_path / "vehicle.car-7.pem", tmp_path / "vehicle.car-7.key"
    assert _verifies(vehicle_ca, *vehicle) and not _verifies(ca, *vehicle)
    assert "rsu.rsu-1.pem" in capsys.readouterr().out


def test_refusals_name_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    assert main(["certs", "rsu", "--dir", d, "rsu-1"]) == 2
    assert "vicoop certs ca --dir" in capsys.readouterr().err
    assert main(["certs", "ca", "--dir", d]) == 0
    before = (tmp_path / "ca.pem").read_bytes()
    assert main(["certs", "ca", "--dir", d]) == 2
    assert "ca.key exists" in capsys.readouterr().err
    assert (tmp_path / "ca.pem").read_bytes() == before
    assert main(["certs", "rsu", "--dir", d, "a/b"]) == 2
    assert "'a/b'" in capsys.readouterr().err
    assert main(["certs", "rsu", "--dir", d, "vicoop-twin"]) == 2
    assert "twin's identity" in capsys.readouterr().err
    assert main(["certs", "server", "--dir", d]) == 2
    assert "at least one DNS name or IP" in capsys.readouterr().err
    assert main(["certs", "server", "--dir", d, "--ip", "300.1.1.1"]) == 2
    assert "'300.1.1.1' is not an IP address" in capsys.readouterr().err
