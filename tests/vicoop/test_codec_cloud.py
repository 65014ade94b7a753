"""Cloud-link, zone and vehicle-report codecs: round trips, and no input crashes a decoder."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protos.vicoop.v1 import cloud_pb2, zones_pb2
from tests.conftest import make_object
from vicoop import codec_cloud as cc
from vicoop.cloudmodel import (
    AckStatus,
    ApproachMeasure,
    Command,
    CommandAck,
    DeleteZone,
    Event,
    EventKind,
    Intersection,
    OutboxMessage,
    PerceptionSummary,
    RsuHealth,
    RsuStatus,
    SignalColour,
    SignalGroupState,
    SignalState,
    UpsertZone,
    VehicleReport,
)
from vicoop.errors import CodecError
from vicoop.model import GeodeticOrigin, ObjectClass, Size3
from vicoop.zones import TimeWindow, Zone, ZoneRules

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
SQUARE = ((6.96, 50.937), (6.961, 50.937), (6.961, 50.938), (6.96, 50.938))


def zone(**rules: object) -> Zone:
    return Zone("z-1", 3, "school street", SQUARE, ZoneRules(**rules), 17)  # type: ignore[arg-type]


def test_zone_round_trip() -> None:
    z = zone(
        speed_limit_mps=8.3,
        allowed_classes=frozenset({ObjectClass.CAR, ObjectClass.BUS}),
        allowed_permit_ids=frozenset({"av-1"}),
        closed_lanes=("lane-2",),
        time_windows=(TimeWindow(420, 540, frozenset({1, 2})),),
        min_headway_s=1.5,
    )
    assert cc.zone_from_proto(cc.zone_to_proto(z)) == z


def test_zone_decoder_names_the_field() -> None:
    pb = cc.zone_to_proto(zone())
    pb.rules.speed_limit_mps = -3
    with pytest.raises(CodecError, match=r"zone.rules.speed_limit_mps"):
        cc.zone_from_proto(pb)
    pb = cc.zone_to_proto(zone())
    pb.polygon[1].latitude_deg, pb.polygon[2].latitude_deg = 50.938, 50.937  # a bow tie
    with pytest.raises(CodecError, match=r"zone\.polygon is not a simple polygon"):
        cc.zone_from_proto(pb)


def test_link_payloads_round_trip() -> None:
    status = RsuStatus(
        "rsu-1",
        RsuHealth.OK,
        ORIGIN,
        150.0,
        (Intersection("i-1", 1.0, 2.0),),
        (),
        5,
        2,
        {"z-1": 3},
    )
    assert cc.decode_status(cc.encode_status(status)) == status
    summary = PerceptionSummary(
        "rsu-1",
        9,
        10,
        11,
        ORIGIN,
        (make_object(3, 1.0, 2.0, valid_at_ns=10),),
        (ApproachMeasure("i-1", "north", 3, 12.5, 4.0),),
    )
    decoded = cc.decode_summary(cc.encode_summary(summary))  # float32 fields: compare the bytes
    assert cc.encode_summary(decoded) == cc.encode_summary(summary)
    assert decoded.measures == summary.measures and decoded.objects[0].track_id == 3
    signal = SignalState(
        "rsu-1", "i-1", 10, (SignalGroupState("g1", "north", SignalColour.RED, 20),)
    )
    assert cc.decode_signal(cc.encode_signal(signal)) == signal
    report = VehicleReport(
        "car-7", ObjectClass.CAR, 50.9, 6.9, 12.0, 0.5, Size3(4.5, 2.0, 1.5), 10, "av-1"
    )
    assert cc.decode_reports(cc.encode_reports("rsu-1", [report])) == ("rsu-1", [report])
    for body in (
        Event(EventKind.ZONE_SPEEDING, 10, "z-1", "car-7", 4, 1.0, 2.0, 15.0, "fast"),
        CommandAck("c-1", 3, AckStatus.APPLIED, "", 10),
    ):
        message = OutboxMessage("rsu-1", 42, 10, body)
        assert cc.decode_outbox(cc.encode_outbox(message)) == message
    assert cc.decode_receipt(cc.encode_receipt([1, 5])) == [1, 5]
    for command_body in (UpsertZone(zone()), DeleteZone("z-1", 4)):
        command = Command("c-1", 3, 10, command_body)
        assert cc.decode_command(cc.encode_command(command)) == command


def test_decoders_name_what_is_wrong() -> None:
    with pytest.raises(CodecError, match=r"status.origin is missing"):
        cc.decode_status(cloud_pb2.RsuStatus(rsu_id="r").SerializeToString())
    with pytest.raises(CodecError, match=r"status.rsu_id"):
        cc.decode_status(cloud_pb2.RsuStatus(rsu_id="a b", origin={}).SerializeToString())
    with pytest.raises(CodecError, match=r"outbox.sequence is missing"):
        cc.decode_outbox(cloud_pb2.OutboxMessage(rsu_id="r").SerializeToString())
    with pytest.raises(CodecError, match=r"not a valid vicoop.v1.Command"):
        cc.decode_command(b"\xff\xff\xff")
    pb = cloud_pb2.PerceptionSummary(rsu_id="r")
    pb.origin.latitude_deg = math.nan
    with pytest.raises(CodecError, match=r"perception.origin.latitude_deg"):
        cc.decode_summary(pb.SerializeToString())


DECODERS = [
    cc.decode_status,
    cc.decode_summary,
    cc.decode_signal,
    cc.decode_reports,
    cc.decode_outbox,
    cc.decode_receipt,
    cc.decode_command,
]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(DECODERS))
def test_arbitrary_bytes_never_crash_a_decoder(data: bytes, decoder: object) -> None:
    with contextlib.suppress(CodecError):
        decoder(data)  # type: ignore[operator]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.floats(allow_nan=True, allow_infinity=True, width=64),
        ),
        max_size=8,
    ),
    st.floats(allow_nan=True),
    st.integers(min_value=0, max_value=20),
)
def test_zone_decoder_rejects_or_returns_a_valid_zone(
    points: list[tuple[float, float]], speed: float, klass: int
) -> None:
    pb = zones_pb2.Zone(zone_id="z", version=1)
    for lon, lat in points:
        pb.polygon.add(longitude_deg=lon, latitude_deg=lat)
    pb.rules.speed_limit_mps = speed
    pb.rules.allowed_classes.append(klass)  # type: ignore[arg-type]
    data = pb.SerializeToString()
    try:
        z = cc.zone_from_proto(zones_pb2.Zone.FromString(data))
    except CodecError:
        return
    assert z.geometry.is_valid and z.rules.speed_limit_mps >= 0


UINT64 = st.one_of(
    st.integers(0, 2**64 - 1),
    st.sampled_from([0, 1, cc.MAX_VERSION, cc.MAX_VERSION + 1, 2**63 - 1, 2**63, 2**64 - 1]),
)


@given(UINT64)
def test_a_version_decodes_only_within_its_range_and_is_rejected_naming_field_and_value(
    version: int,
) -> None:
    status = RsuStatus("rsu-1", RsuHealth.OK, ORIGIN, 150.0, (), (), 5, 0, {"z-1": version})
    messages = {
        "status.zone_versions['z-1']": lambda: cc.decode_status(cc.encode_status(status)),
        "command.version": lambda: cc.decode_command(
            cc.encode_command(Command("c-1", version, 10, DeleteZone("z-1", 1)))
        ),
        "command.delete_zone.version": lambda: cc.decode_command(
            cc.encode_command(Command("c-1", 1, 10, DeleteZone("z-1", version)))
        ),
        "command.upsert_zone.zone.version": lambda: cc.decode_command(upsert.SerializeToString()),
    }
    upsert = cloud_pb2.Command.FromString(
        cc.encode_command(Command("c-1", 1, 10, UpsertZone(zone())))
    )
    upsert.upsert_zone.zone.version = version  # what the Zone type itself would refuse
    for field, decode in messages.items():
        if 1 <= version <= cc.MAX_VERSION:
            decode()
        else:
            with pytest.raises(CodecError) as raised:
                decode()
            assert f"{field} must be in 1..{cc.MAX_VERSION}, got {version}" in str(raised.value)


@given(UINT64)
def test_the_next_version_never_leaves_the_range(version: int) -> None:
    """Whatever a peer reported, the version computed after it fits the range, or is refused
    with a ValueError naming it: never 2^63 (SQLite) nor 2^64 (the wire)."""
    try:
        after = cc.next_version(version, "zone z-1")
    except ValueError as exc:
        assert version >= cc.MAX_VERSION and f"version {version}" in str(exc)
    else:
        assert 1 <= after <= cc.MAX_VERSION and after == version + 1


def test_a_command_id_is_found_in_a_command_that_is_otherwise_malformed() -> None:
    bad = cc.encode_command(Command("c-9", 2**63 - 1, 10, DeleteZone("z-1", 2**63 - 1)))
    assert cc.command_id_of(bad) == "c-9"
    assert cc.command_id_of(b"\xff\xff") is None
    assert (
        cc.command_id_of(cc.encode_command(Command("bad id!", 1, 10, DeleteZone("z", 1)))) is None
    )


def test_an_rsus_spat_and_map_round_trip_and_bad_ones_are_refused_by_name() -> None:
    from protos.vicoop.v1 import cloud_pb2
    from vehicle.testing import crossroads_map
    from vicoop.spat import ControlMode, MovementEvent, MovementPhaseState, Spat

    green = MovementPhaseState.PROTECTED_MOVEMENT_ALLOWED
    spat = Spat("j1", 10, 3, ControlMode.FIXED_TIME, (MovementEvent(2, green, 20, 20, 20, 1.0),))
    data = cc.encode_rsu_spat("rsu-a", 11, [spat])
    assert cc.decode_rsu_spat(data) == ("rsu-a", 11, [spat])
    maps = [crossroads_map("j1"), crossroads_map("j2")]
    assert cc.decode_rsu_map(cc.encode_rsu_map("rsu-a", maps)) == ("rsu-a", maps)

    twice = cc.encode_rsu_spat("rsu-a", 11, [spat, spat])
    with pytest.raises(CodecError, match=r"spat.intersections: 'j1' appears twice"):
        cc.decode_rsu_spat(twice)
    bad = cloud_pb2.RsuSpat.FromString(data)
    bad.intersections[0].movements[0].signal_group = 0
    with pytest.raises(CodecError, match=r"spat.intersections\[0\].movements\[0\].signal_group"):
        cc.decode_rsu_spat(bad.SerializeToString())
    broken = cloud_pb2.RsuMap.FromString(cc.encode_rsu_map("rsu-a", maps))
    broken.intersections[1].connections[0].to_lane = 99
    with pytest.raises(CodecError, match=r"map.intersections\[1\].connections\[0\].to_lane"):
        cc.decode_rsu_map(broken.SerializeToString())
    with pytest.raises(CodecError, match=r"map.rsu_id is missing"):
        cc.decode_rsu_map(cc.encode_rsu_map("", maps))
