"""The pure report checker: plausibility, id ownership, gated association with tracks; and the
servicer's decoding of report requests (Hypothesis: any bytes, any field values)."""

from __future__ import annotations

import math

import pymap3d
from hypothesis import given, settings
from hypothesis import strategies as st

from protos.vicoop.v1 import common_pb2, roadside_pb2, vehicle_pb2, zones_pb2
from tests.conftest import make_object
from vicoop.cloudmodel import VehicleReport
from vicoop.errors import CodecError
from vicoop.model import NS_PER_S, GeodeticOrigin, ObjectClass, Size3
from vicoop.serving.encoding import decode_report_request
from vicoop.serving.reports import RejectionNotices, ReportBook, ReportLimits, ReportRejected

ORIGIN = GeodeticOrigin(50.9375, 6.9603, 55.0)
T0 = 1_700_000_000 * NS_PER_S


def at(x: float, y: float) -> tuple[float, float]:
    lat, lon, _ = pymap3d.enu2geodetic(
        x, y, 0.0, ORIGIN.latitude_deg, ORIGIN.longitude_deg, ORIGIN.altitude_m
    )
    return float(lat), float(lon)


def report(
    x: float = 0.0,
    y: float = 0.0,
    *,
    t: int = T0,
    vid: str = "veh-1",
    speed: float = 0.0,
    heading: float = 0.0,
    cls: ObjectClass = ObjectClass.CAR,
) -> VehicleReport:
    lat, lon = at(x, y)
    return VehicleReport(vid, cls, lat, lon, speed, heading, Size3(4.5, 1.8, 1.5), t, "AV-1")


def rejection(book: ReportBook, r: VehicleReport, reporter: object, now: int) -> str:
    try:
        book.submit(r, reporter, now)
    except ReportRejected as exc:
        return exc.kind
    return "accepted"


def test_plausible_reports_are_accepted_and_implausible_ones_rejected_and_counted() -> None:
    book = ReportBook(ORIGIN)
    assert rejection(book, report(10, 0, speed=10), "a", T0) == "accepted"
    # 0.1 s later, 1 m on: fine; 3 km on: a jump no car makes.
    assert rejection(book, report(11, 0, t=T0 + NS_PER_S // 10, speed=10), "a", T0) == "accepted"
    assert rejection(book, report(3000, 0, t=T0 + NS_PER_S // 5), "a", T0) == "distance"
    assert rejection(book, report(200, 0, t=T0 + NS_PER_S // 5), "a", T0) == "jump"
    assert rejection(book, report(12, 0, t=T0 + NS_PER_S // 5, speed=300), "a", T0) == "speed"
    assert rejection(book, report(12, 0, t=T0 - 10 * NS_PER_S), "a", T0) == "time"
    assert rejection(book, report(12, 0, t=T0 + 10 * NS_PER_S), "a", T0) == "time"
    assert rejection(book, report(11, 0, t=T0 + NS_PER_S // 10), "a", T0) == "time"  # not newer
    assert book.stats.accepted == 2
    assert dict(book.stats.rejected) == {"distance": 1, "jump": 1, "speed": 1, "time": 3}


def test_an_id_held_by_another_live_stream_is_rejected_until_released() -> None:
    book = ReportBook(ORIGIN)
    book.submit(report(0, 0), "a", T0)
    assert rejection(book, report(50, 0), "b", T0) == "id_claimed"
    # A stream speaks for one vehicle only.
    assert rejection(book, report(0, 0, t=T0 + 1, vid="veh-2"), "a", T0) == "id_changed"
    book.release("a")
    assert rejection(book, report(50, 0, t=T0 + 2), "b", T0) == "accepted"
    # Silent for longer than id_hold_s: the id is free again.
    hold = round(ReportLimits().id_hold_s * NS_PER_S)
    late = T0 + hold + NS_PER_S
    assert rejection(book, report(0, 0, t=late), "c", late) == "accepted"
    assert book.stats.rejected["id_claimed"] == 1


def test_reports_tag_the_nearest_compatible_track_within_the_gate() -> None:
    book = ReportBook(ORIGIN)
    # A car reports itself at (10, 0) moving east at 10 m/s, measured 0.2 s before the frame.
    book.submit(report(10, 0, speed=10.0, heading=0.0), "a", T0)
    book.submit(report(-40, 0, vid="ped-ish", cls=ObjectClass.PEDESTRIAN), "b", T0)
    now = T0 + NS_PER_S // 5
    objects = (
        make_object(1, x=10.0, y=0.0, valid_at_ns=now),  # where the car was
        make_object(2, x=12.1, y=0.3, valid_at_ns=now),  # where it is now
        make_object(3, x=-40.0, y=0.0, valid_at_ns=now),  # a car where the pedestrian is
        make_object(4, x=60.0, y=0.0, valid_at_ns=now),
    )
    tagged = book.associate(objects, now)
    assert [o.vehicle_id for o in tagged] == ["", "veh-1", "", ""]
    # Too old to associate: nothing tagged.
    later = T0 + 5 * NS_PER_S
    assert [o.vehicle_id for o in book.associate(objects, later)] == ["", "", "", ""]


def test_no_track_within_the_gate_means_no_association() -> None:
    book = ReportBook(ORIGIN, ReportLimits(gate_m=2.0))
    book.submit(report(0, 0), "a", T0)
    tagged = book.associate((make_object(1, x=3.0, valid_at_ns=T0),), T0)
    assert tagged[0].vehicle_id == ""


def _request(**fields: object) -> bytes:
    return roadside_pb2.ReportVehicleStateRequest(
        report=vehicle_pb2.VehicleReport(**fields)  # type: ignore[arg-type]
    ).SerializeToString()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_report_or_a_codec_error(data: bytes) -> None:
    try:
        decoded = decode_report_request(data)
    except CodecError as exc:
        assert str(exc).startswith("report")
    else:
        assert isinstance(decoded, VehicleReport)


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=300, deadline=None)
@given(
    vid=st.text(max_size=80),
    cls=st.integers(min_value=0, max_value=40),
    lat=floats,
    lon=floats,
    speed=floats,
    heading=floats,
    length=floats,
    permit=st.text(max_size=10),
    measured=st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_any_field_values_decode_or_fail_naming_the_field(
    vid: str,
    cls: int,
    lat: float,
    lon: float,
    speed: float,
    heading: float,
    length: float,
    permit: str,
    measured: int,
) -> None:
    data = _request(
        vehicle_id=vid,
        vehicle_class=cls,
        position=zones_pb2.GeoPoint(latitude_deg=lat, longitude_deg=lon),
        speed_mps=speed,
        heading_rad=heading,
        size=common_pb2.ObjectSize(length_m=length, width_m=1.8, height_m=1.5),
        permit_id=permit,
        measured_at_ns=measured,
    )
    try:
        decoded = decode_report_request(data, "report[7]")
    except CodecError as exc:
        assert str(exc).startswith("report[7].")
    else:
        assert decoded.vehicle_id == vid and 1 <= len(vid) <= 64
        assert -90 <= decoded.latitude_deg <= 90 and math.isfinite(decoded.speed_mps)
        assert decoded.measured_at_ns >= 0


def test_a_request_without_a_report_is_rejected_naming_it() -> None:
    try:
        decode_report_request(b"", "report[0]")
    except CodecError as exc:
        assert str(exc) == "report[0] is missing"
    else:
        raise AssertionError("an empty request decoded")


def test_distinct_vehicle_ids_cannot_flood_the_outbox() -> None:
    """The sender chooses its vehicle ids: 3000 of them in a minute give at most ``per_kind``
    events of each reason, and the next event of that reason says how many were not sent."""
    notices = RejectionNotices(every_s=60.0, per_kind=10)
    sent = [n for i in range(3000) if (n := notices.due(f"veh-{i}", "too_far", T0 + i))]
    assert len(sent) == 10
    assert all(n.suppressed == 0 for n in sent)
    assert notices.due("veh-0", "speed", T0 + 3000)  # another reason has its own budget
    later = notices.due("veh-x", "too_far", T0 + 60 * NS_PER_S)
    assert later is not None and later.suppressed == 2990


def test_rejection_notices_are_rate_limited_per_vehicle_and_reason() -> None:
    notices = RejectionNotices(every_s=60.0)
    assert notices.due("veh-1", "id_claimed", T0)
    assert not notices.due("veh-1", "id_claimed", T0 + 59 * NS_PER_S)
    assert notices.due("veh-1", "speed", T0 + 1)
    assert notices.due("veh-2", "id_claimed", T0 + 1)
    assert notices.due("veh-1", "id_claimed", T0 + 60 * NS_PER_S)
