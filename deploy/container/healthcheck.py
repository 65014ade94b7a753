"""Container health probe for the RSU: a grpc.health.v1 Check against the local daemon.

    python healthcheck.py [CONFIG]        (CONFIG defaults to /etc/vicoop/rsu.yaml)

Reads server.host/server.port from the same configuration file the daemon runs with, so the probe
follows a port change. Exits 0 when the server answers SERVING, 1 otherwise (NOT_SERVING during
graceful shutdown, unreachable, timeout). VICOOP_HEALTH_TARGET=host:port overrides the address.

With ``server.tls`` the probe speaks TLS and trusts the server's own certificate
(``server.tls.cert_file``, pinned: it needs no CA), checking it for the certificate's first DNS
name or IP address (VICOOP_HEALTH_SERVER_NAME overrides). Under mutual TLS
(``client_ca_file``) it presents VICOOP_HEALTH_CERT and VICOOP_HEALTH_KEY, a client certificate
that CA signed (e.g. ``vicoop certs vehicle --dir pki healthcheck``).
"""

from __future__ import annotations

import os
import sys

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

DEFAULT_CONFIG = "/etc/vicoop/rsu.yaml"
DEFAULT_PORT = 50051  # RsuConfig's server.port default
TIMEOUT_S = 3.0


def target_from_config(path: str) -> str:
    """The address to probe: the configured port, on loopback when listening on every interface."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    server = data.get("server") or {}
    host = str(server.get("host", "127.0.0.1"))
    port = int(server.get("port", DEFAULT_PORT))
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def _first_name(cert_pem: bytes) -> str | None:
    """The first DNS name or IP address of the certificate (None: cryptography is missing)."""
    try:
        from cryptography import x509
    except ModuleNotFoundError:
        return None
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = [*sans.get_values_for_type(x509.DNSName), *sans.get_values_for_type(x509.IPAddress)]
    return str(names[0]) if names else None


def tls_from_config(path: str) -> tuple[grpc.ChannelCredentials, list[tuple[str, str]]] | None:
    """The probe's TLS credentials and channel options when the config has ``server.tls``."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    tls = (data.get("server") or {}).get("tls")
    if not tls:
        return None
    with open(tls["cert_file"], "rb") as f:
        pinned = f.read()
    cert = key = None
    if os.environ.get("VICOOP_HEALTH_CERT"):
        with open(os.environ["VICOOP_HEALTH_CERT"], "rb") as f:
            cert = f.read()
        with open(os.environ["VICOOP_HEALTH_KEY"], "rb") as f:
            key = f.read()
    name = os.environ.get("VICOOP_HEALTH_SERVER_NAME") or _first_name(pinned)
    options = [("grpc.ssl_target_name_override", name)] if name else []
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pinned, private_key=key, certificate_chain=cert
    )
    return credentials, options


def check(
    target: str,
    timeout_s: float = TIMEOUT_S,
    tls: tuple[grpc.ChannelCredentials, list[tuple[str, str]]] | None = None,
) -> bool:
    if tls is None:
        channel = grpc.insecure_channel(target)
    else:
        channel = grpc.secure_channel(target, tls[0], options=tls[1])
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        except grpc.RpcError as exc:
            print(f"unhealthy: {target}: {exc.code().name}", file=sys.stderr)
            return False
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{target}: {status}")
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def main(argv: list[str]) -> int:
    config = argv[1] if len(argv) > 1 else DEFAULT_CONFIG
    target = os.environ.get("VICOOP_HEALTH_TARGET") or target_from_config(config)
    return 0 if check(target, tls=tls_from_config(config)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
