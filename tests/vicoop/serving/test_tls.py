"""TLS and mutual TLS on the Roadside service, with certificates from ``vicoop certs``: real
servers on free ports, real handshakes. Each attack is what a client on the network would try."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from protos.vicoop.v1 import roadside_pb2, roadside_pb2_grpc
from tests.conftest import make_pki
from vehicle import ClientTls, RoadsideClient
from vehicle.testing import FakeRoadside
from vicoop import config as config_io
from vicoop.errors import ConfigError
from vicoop.serving.peers import ConnectionLimits
from vicoop.serving.tls import ServerTlsConfig


def server_tls(pki: Path, *, mutual: bool = False) -> ServerTlsConfig:
    return ServerTlsConfig(
        cert_file=pki / "server.pem",
        key_file=pki / "server.key",
        client_ca_file=pki / "vehicle-ca.pem" if mutual else None,
    )


def vehicle_tls(pki: Path, vehicle: str | None = None, ca: Path | None = None) -> ClientTls:
    if vehicle is None:
        return ClientTls.from_files(ca or pki / "ca.pem")
    return ClientTls.from_files(
        ca or pki / "ca.pem",
        cert_file=pki / f"vehicle.{vehicle}.pem",
        key_file=pki / f"vehicle.{vehicle}.key",
    )


async def get_site(target: str, tls: ClientTls | None) -> str:
    """GetSite as a bare grpc client would call it: the RSU's id, or the gRPC status code's
    name when the call fails (a refused handshake is UNAVAILABLE)."""
    if tls is None:
        channel = grpc.aio.insecure_channel(target)
    else:
        channel = grpc.aio.secure_channel(target, tls.credentials(), tls.channel_options())
    async with channel:
        stub = roadside_pb2_grpc.RoadsideStub(channel)
        try:
            reply = await stub.GetSite(roadside_pb2.GetSiteRequest(), timeout=10)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
    return reply.rsu_id


async def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout_s)


async def test_tls_serves_a_client_with_the_pilots_ca_and_refuses_one_without(pki: Path) -> None:
    """Attack: read what an RSU streams without its CA (before: plaintext, any client read it)."""
    async with FakeRoadside(tls=server_tls(pki)) as rsu:
        assert await get_site(rsu.target, vehicle_tls(pki)) == "fake-rsu"
        async with RoadsideClient(rsu.target, tls=vehicle_tls(pki)) as client:
            assert (await client.site()).rsu_id == "fake-rsu"
        # Plaintext, and TLS trusting only the system's roots: no handshake.
        assert await get_site(rsu.target, None) == "UNAVAILABLE"
        assert await get_site(rsu.target, ClientTls()) == "UNAVAILABLE"
        # The certificate names 127.0.0.1 and localhost, not another host.
        other_name = ClientTls.from_files(pki / "ca.pem", server_name="rsu-9.example")
        assert await get_site(rsu.target, other_name) == "UNAVAILABLE"
        named = ClientTls.from_files(pki / "ca.pem", server_name="localhost")
        assert await get_site(rsu.target, named) == "fake-rsu"


async def test_mutual_tls_refuses_a_vehicle_without_a_certificate_or_with_another_cas(
    pki: Path, tmp_path: Path
) -> None:
    """Attack: an unauthenticated vehicle calls the RSU (before: any client could, under any
    vehicle id)."""
    other = make_pki(tmp_path / "other", vehicles=("car-1",))
    async with FakeRoadside(tls=server_tls(pki, mutual=True)) as rsu:
        assert await get_site(rsu.target, vehicle_tls(pki, "car-1")) == "fake-rsu"
        assert await get_site(rsu.target, vehicle_tls(pki)) == "UNAVAILABLE"
        # car-1's certificate from another pilot's CA (the server is still this pilot's).
        forged = ClientTls.from_files(
            pki / "ca.pem",
            cert_file=other / "vehicle.car-1.pem",
            key_file=other / "vehicle.car-1.key",
        )
        assert await get_site(rsu.target, forged) == "UNAVAILABLE"
        # An RSU's certificate is the infrastructure CA's, not the vehicles': refused too.
        rsu_cert = ClientTls.from_files(
            pki / "ca.pem", cert_file=pki / "twin.pem", key_file=pki / "twin.key"
        )
        assert await get_site(rsu.target, rsu_cert) == "UNAVAILABLE"


async def test_reload_serves_the_new_certificate_to_new_connections(
    pki: Path, tmp_path: Path
) -> None:
    renewed = make_pki(tmp_path / "renewed")
    live = tmp_path / "live"
    live.mkdir()
    for name in ("server.pem", "server.key"):
        shutil.copy(pki / name, live / name)
    tls = ServerTlsConfig(cert_file=live / "server.pem", key_file=live / "server.key")
    async with FakeRoadside(tls=tls) as rsu:
        old, new = vehicle_tls(pki), vehicle_tls(renewed)
        assert await get_site(rsu.target, old) == "fake-rsu"
        assert await get_site(rsu.target, new) == "UNAVAILABLE"
        # A bad file is not taken: the server keeps its certificate.
        (live / "server.key").write_bytes(b"not a key")
        assert rsu.server.reload_tls() is False
        assert await get_site(rsu.target, old) == "fake-rsu"
        for name in ("server.pem", "server.key"):
            shutil.copy(renewed / name, live / name)
        assert rsu.server.reload_tls() is True
        assert await get_site(rsu.target, new) == "fake-rsu"
        assert await get_site(rsu.target, old) == "UNAVAILABLE"
        assert rsu.server.tls is not None
        assert (rsu.server.tls.reloads, rsu.server.tls.reload_failures) == (1, 1)


async def test_one_vehicle_cannot_hold_more_streams_than_its_limit_across_rpcs(
    pki: Path,
) -> None:
    """Attack: one client opens streams of every kind until the RSU has no room (before:
    StreamZones, StreamSpat and report streams were counted against no limit, and perception
    streams only against the RSU's total)."""
    limits = ConnectionLimits(max_streams_per_peer=3)
    async with (
        FakeRoadside(tls=server_tls(pki, mutual=True), limits=limits, intersections=["j1"]) as rsu,
        RoadsideClient(rsu.target, tls=vehicle_tls(pki, "car-1")) as car1,
        RoadsideClient(rsu.target, tls=vehicle_tls(pki, "car-2")) as car2,
    ):
        channel = car1._require_channel()
        perception = channel.unary_stream("/vicoop.v1.Roadside/StreamPerception")(
            roadside_pb2.StreamPerceptionRequest().SerializeToString()
        )
        zones = channel.unary_stream("/vicoop.v1.Roadside/StreamZones")(
            roadside_pb2.StreamZonesRequest().SerializeToString()
        )
        spat = channel.unary_stream("/vicoop.v1.Roadside/StreamSpat")(
            roadside_pb2.StreamSpatRequest().SerializeToString()
        )
        await _until(lambda: rsu.server.streams.open["cn:car-1"] == 3)
        refused = []
        for method, request in (
            ("StreamPerception", roadside_pb2.StreamPerceptionRequest()),
            ("StreamZones", roadside_pb2.StreamZonesRequest()),
        ):
            call = channel.unary_stream(f"/vicoop.v1.Roadside/{method}")(
                request.SerializeToString()
            )
            with pytest.raises(grpc.aio.AioRpcError) as excinfo:
                async for _ in call:
                    pass
            refused.append(excinfo.value.code())
        reports = channel.stream_unary("/vicoop.v1.Roadside/ReportVehicleState")(iter([]))
        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            await reports
        refused.append(excinfo.value.code())
        assert refused == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
        assert "cn:car-1 already holds 3 streams" in (excinfo.value.details() or "")
        assert rsu.server.streams.refused["cn:car-1"] == 3
        # Another vehicle still gets its streams.
        other = car2._require_channel().unary_stream("/vicoop.v1.Roadside/StreamZones")(
            roadside_pb2.StreamZonesRequest().SerializeToString()
        )
        await _until(lambda: rsu.server.streams.open["cn:car-2"] == 1)
        # A stream closed gives its slot back.
        zones.cancel()
        await _until(lambda: rsu.server.streams.open["cn:car-1"] == 2)
        again = channel.unary_stream("/vicoop.v1.Roadside/StreamZones")(
            roadside_pb2.StreamZonesRequest().SerializeToString()
        )
        await _until(lambda: rsu.server.streams.open["cn:car-1"] == 3)
        for call in (perception, spat, other, again):
            call.cancel()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cert_file": "missing.pem"}, "cert_file {d}/missing.pem: cannot read the file"),
        ({"key_file": "twin.key"}, "key_file {d}/twin.key: not the key of cert_file"),
        ({"key_file": "server.pem"}, "key_file {d}/server.pem: not a PEM private key"),
        ({"client_ca_file": "server.key"}, "client_ca_file {d}/server.key: not a PEM certificate"),
    ],
)
def test_a_bad_tls_file_is_one_error_naming_the_field_and_the_file(
    pki: Path, change: dict[str, str], message: str
) -> None:
    from roadside.config import RsuConfig

    tls = {"cert_file": "server.pem", "key_file": "server.key", **change}
    data = {"server": {"tls": {k: str(pki / v) for k, v in tls.items()}}}
    with pytest.raises(ConfigError) as excinfo:
        config_io.validate(RsuConfig, data, "rsu.yaml")
    assert str(excinfo.value).startswith("rsu.yaml: server.tls: ")
    assert message.format(d=pki) in str(excinfo.value)


async def test_a_connection_that_never_finishes_its_handshake_is_closed(pki: Path) -> None:
    """Attack: hold the RSU's sockets with connections that never say a word (before: grpc's
    default gave each 120 s; now ``handshake_timeout_s``)."""
    limits = ConnectionLimits(handshake_timeout_s=0.5)
    async with FakeRoadside(tls=server_tls(pki), limits=limits) as rsu:
        host, port = rsu.target.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            # The server closes it: EOF (or a reset), long before grpc's default would.
            try:
                data = await asyncio.wait_for(reader.read(), 30)
            except ConnectionResetError:
                data = b""
            assert data == b""
        finally:
            writer.close()
            with contextlib.suppress(ConnectionResetError):
                await writer.wait_closed()
        assert await get_site(rsu.target, vehicle_tls(pki)) == "fake-rsu"
