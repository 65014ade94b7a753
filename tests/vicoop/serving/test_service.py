"""The Roadside gRPC service on a real server on a free port: streaming, bad input, health,
reflection and graceful shutdown."""

from __future__ import annotations

import asyncio
import math

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from protos.vicoop.v1 import common_pb2, perception_pb2, roadside_pb2, roadside_pb2_grpc
from tests.conftest import make_object
from vehicle.testing import FakeRoadside


async def _first_response(
    stub: roadside_pb2_grpc.RoadsideStub,
    rsu: FakeRoadside,
    options: perception_pb2.SubscriptionOptions,
) -> roadside_pb2.StreamPerceptionResponse:
    call = stub.StreamPerception(roadside_pb2.StreamPerceptionRequest(options=options))
    await _until(lambda: rsu.hub.subscriber_count > 0)
    rsu.publish([make_object(1, x=1.0), make_object(2, x=80.0)])
    response = await call.read()
    call.cancel()
    assert isinstance(response, roadside_pb2.StreamPerceptionResponse)
    return response


async def _until(condition: object, timeout_s: float = 5.0) -> None:
    async def wait() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout_s)


async def test_generated_stub_streams_filtered_frames(fake_rsu: FakeRoadside) -> None:
    async with grpc.aio.insecure_channel(fake_rsu.target) as channel:
        stub = roadside_pb2_grpc.RoadsideStub(channel)
        options = perception_pb2.SubscriptionOptions(
            region=perception_pb2.RegionOfInterest(
                circle=perception_pb2.Circle(center=common_pb2.Point2(x_m=0, y_m=0), radius_m=10)
            )
        )
        response = await _first_response(stub, fake_rsu, options)
    assert [o.track_id for o in response.frame.objects] == [1]
    assert response.frame.objects_before_filter == 2
    assert response.frame.rsu_id == "fake-rsu"


@pytest.mark.parametrize(
    ("request_bytes", "details"),
    [
        (b"\xff\xff\xff", "request is not a valid vicoop.v1.StreamPerceptionRequest"),
        (
            roadside_pb2.StreamPerceptionRequest(
                options=perception_pb2.SubscriptionOptions(max_rate_hz=math.nan)
            ).SerializeToString(),
            "options.max_rate_hz must be a finite number, got nan",
        ),
        (
            roadside_pb2.StreamPerceptionRequest(
                options=perception_pb2.SubscriptionOptions(classes=[42])  # type: ignore[list-item]
            ).SerializeToString(),
            "options.classes[0]: unknown ObjectClass value 42",
        ),
    ],
)
async def test_bad_subscription_gets_invalid_argument_and_the_rsu_carries_on(
    fake_rsu: FakeRoadside, request_bytes: bytes, details: str
) -> None:
    async with grpc.aio.insecure_channel(fake_rsu.target) as channel:
        method = channel.unary_stream(
            "/vicoop.v1.Roadside/StreamPerception",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            async for _ in method(request_bytes):
                pass
        assert excinfo.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert details in (excinfo.value.details() or "")
        assert fake_rsu.server.rejected_requests == 1
        # The RSU still serves a good subscription.
        stub = roadside_pb2_grpc.RoadsideStub(channel)
        response = await _first_response(stub, fake_rsu, perception_pb2.SubscriptionOptions())
        assert len(response.frame.objects) == 2


async def test_subscriptions_past_the_limit_get_resource_exhausted() -> None:
    async with (
        FakeRoadside(max_subscribers=1) as rsu,
        grpc.aio.insecure_channel(rsu.target) as channel,
    ):
        stub = roadside_pb2_grpc.RoadsideStub(channel)
        first = stub.StreamPerception(roadside_pb2.StreamPerceptionRequest())
        await _until(lambda: rsu.hub.subscriber_count == 1)
        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            async for _ in stub.StreamPerception(roadside_pb2.StreamPerceptionRequest()):
                pass
        assert excinfo.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "at most 1 subscribers" in (excinfo.value.details() or "")
        first.cancel()


async def test_reflection_is_off_unless_asked_for(fake_rsu: FakeRoadside) -> None:
    async with grpc.aio.insecure_channel(fake_rsu.target) as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        with pytest.raises(grpc.aio.AioRpcError) as excinfo:
            async for _ in responses:
                pass
        assert excinfo.value.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_get_site_health_and_reflection() -> None:
    async with (
        FakeRoadside(reflection=True) as fake_rsu,
        grpc.aio.insecure_channel(fake_rsu.target) as channel,
    ):
        site = await roadside_pb2_grpc.RoadsideStub(channel).GetSite(roadside_pb2.GetSiteRequest())
        assert (site.rsu_id, site.origin.latitude_deg, site.publish_rate_hz) == (
            "fake-rsu",
            50.9375,
            20.0,
        )

        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "vicoop.v1.Roadside"):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask() -> reflection_pb2.ServerReflectionResponse:
            responses = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            async for response in responses:
                return response
            raise AssertionError("no reflection response")

        names = {s.name for s in (await ask()).list_services_response.service}
        assert {"vicoop.v1.Roadside", "grpc.health.v1.Health"} <= names


async def test_graceful_stop_ends_open_streams_cleanly_and_sets_not_serving() -> None:
    rsu = FakeRoadside()
    await rsu.start()
    async with grpc.aio.insecure_channel(rsu.target) as channel:
        stub = roadside_pb2_grpc.RoadsideStub(channel)
        call = stub.StreamPerception(roadside_pb2.StreamPerceptionRequest())
        await _until(lambda: rsu.hub.subscriber_count == 1)
        rsu.publish([make_object(1)])
        received = []

        async def read_all() -> None:
            async for response in call:
                received.append(response.frame.sequence)

        reader = asyncio.create_task(read_all())
        await _until(lambda: received == [1])
        await rsu.stop(grace_period_s=2.0)
        await asyncio.wait_for(reader, 5.0)
        assert await call.code() is grpc.StatusCode.OK
    assert received == [1]
