"""Camera detections as JSON datagrams: round trip, rejections, random bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roadside.ingest import CameraFrame, Ingest, JsonCameraDecoder
from roadside.ingest.camera import encode
from vicoop.model import ObjectClass

T = 1_700_000_000_000_000_001


def doc(**changes: object) -> bytes:
    d: dict[str, object] = {
        "v": 1,
        "sensor_id": "cam-1",
        "frame": 3,
        "t_ns": T,
        "boxes": [{"box": [10, 20, 30.5, 40], "class": "car", "score": 0.9}],
    }
    d.update(changes)
    return json.dumps(d).encode()


def test_round_trip() -> None:
    data = encode(
        "cam-1",
        9,
        T,
        [[1.0, 2.0, 3.0, 4.0], [5, 6, 7, 8]],
        [int(ObjectClass.PEDESTRIAN), "Bus"],
        [0.5, 1.0],
    )
    frame = JsonCameraDecoder("cam-1").decode(data)
    assert (frame.sensor_id, frame.frame, frame.measured_at_ns) == ("cam-1", 9, T)
    np.testing.assert_array_equal(frame.boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert frame.classes.tolist() == [int(ObjectClass.PEDESTRIAN), int(ObjectClass.BUS)]
    assert frame.scores.tolist() == [0.5, 1.0]
    assert len(JsonCameraDecoder("cam-1").decode(doc(boxes=[]))) == 0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe", "bad_json"),
        (b"{", "bad_json"),
        (b"[]", "bad_json"),
        (doc(v=2), "bad_version"),
        (doc(sensor_id="cam-2"), "unknown_sensor"),
        (doc(frame="3"), "bad_field"),
        (doc(frame=-1), "bad_field"),
        (doc(t_ns=1.5), "bad_field"),
        (doc(t_ns=0), "bad_time"),
        (doc(boxes={}), "bad_field"),
        (doc(boxes=[[1, 2, 3, 4]]), "bad_box"),
        (doc(boxes=[{"box": [1, 2, 3], "class": "car", "score": 0.5}]), "bad_box"),
        (doc(boxes=[{"box": [3, 2, 1, 4], "class": "car", "score": 0.5}]), "bad_box"),
        (doc(boxes=[{"box": [1, 2, 3, 4], "class": "car", "score": 1.5}]), "bad_box"),
        (doc(boxes=[{"box": [1, 2, 3, 4], "class": "spaceship", "score": 0.5}]), "bad_class"),
        (doc(boxes=[{"box": [1, 2, 3, 4], "class": 99, "score": 0.5}]), "bad_class"),
        (
            b'{"v": 1, "sensor_id": "cam-1", "frame": 1, "t_ns": 5, "boxes": [{"box": [NaN, 1, 2, 3]}]}',
            "bad_box",
        ),
    ],
)
def test_bad_frames_are_counted_by_reason(data: bytes, reason: str) -> None:
    got: list[CameraFrame] = []
    ing = Ingest(JsonCameraDecoder("cam-1"), got.append)
    assert ing.feed(data) is None
    assert got == []
    assert dict(ing.stats.rejected) == {reason: 1}


def test_duplicate_and_older_frames_are_skipped() -> None:
    got: list[CameraFrame] = []
    ing = Ingest(JsonCameraDecoder("cam-1"), got.append, counter_modulus=1 << 63)
    for f in (3, 3, 4, 2, 5):
        ing.feed(doc(frame=f))
    assert [g.frame for g in got] == [3, 4, 5]
    assert dict(ing.stats.rejected) == {"duplicate": 1, "out_of_order": 1}


@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    ing = Ingest(JsonCameraDecoder("cam-1"), lambda f: None)
    ing.feed(data)
    assert ing.stats.accepted + ing.stats.rejected_total == 1


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["v", "sensor_id", "frame", "t_ns", "boxes", "box", "class", "score"]
                ),
                c,
                max_size=6,
            )
        ),
        max_leaves=20,
    )
)
def test_random_json_never_raises(value: object) -> None:
    ing = Ingest(JsonCameraDecoder("cam-1"), lambda f: None)
    ing.feed(json.dumps(value).encode())
    assert ing.stats.accepted + ing.stats.rejected_total == 1
