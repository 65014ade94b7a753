"""Container health probe for the RSU: a grpc.health.v1 Check against the local daemon.

    python healthcheck.py [CONFIG]        (CONFIG defaults to /etc/vicoop/rsu.yaml)

Reads server.host/server.port from the same configuration file the daemon runs with, so the probe
follows a port change. Exits 0 when the server answers SERVING, 1 otherwise (NOT_SERVING during
graceful shutdown, unreachable, timeout). VICOOP_HEALTH_TARGET=host:port overrides the address.
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


def check(target: str, timeout_s: float = TIMEOUT_S) -> bool:
    with grpc.insecure_channel(target) as channel:
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
    target = os.environ.get("VICOOP_HEALTH_TARGET") or target_from_config(
        argv[1] if len(argv) > 1 else DEFAULT_CONFIG
    )
    return 0 if check(target) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
