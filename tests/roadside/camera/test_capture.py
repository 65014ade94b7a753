"""The capture's one-slot buffer (newest frame wins, drops counted), a file that ends, and a dead
stream reopened after a backoff."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import cv2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from roadside.camera import Capture, CapturedFrame, CaptureState, LatestFrame
from roadside.camera.preprocess import letterbox
from vicoop.backoff import Backoff


def frame(i: int) -> CapturedFrame:
    return CapturedFrame(i, i, np.zeros((2, 2, 3), dtype=np.uint8))


def test_the_newest_frame_wins_and_replaced_ones_are_counted() -> None:
    buffer = LatestFrame()
    for i in range(3):
        buffer.put(frame(i))
    taken = buffer.take(0.0)
    assert taken is not None and taken.index == 2
    assert (buffer.dropped, buffer.put_count) == (2, 3)
    assert buffer.take(0.0) is None


def write_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 100.0, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i % 256, dtype=np.uint8))
    writer.release()
    return path


def until(condition: object, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s  # a hang guard, not a timing assertion
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_slow_consumer_gets_the_newest_frames_and_the_rest_are_dropped(tmp_path: Path) -> None:
    """A real video read as fast as it decodes, taken by a consumer slower than that (a stand-in
    for inference): nothing queues, every frame is either taken or counted as dropped."""
    video = write_video(tmp_path / "v.avi", 60)
    buffer = LatestFrame()
    capture = Capture(str(video), buffer, realtime_file=False)
    taken: list[int] = []
    capture.start()
    try:
        while (
            capture.state is not CaptureState.ENDED
            or buffer.put_count > len(taken) + buffer.dropped
        ):
            got = buffer.take(0.1)
            if got is not None:
                assert not taken or got.index > taken[-1]
                taken.append(got.index)
                time.sleep(0.02)
    finally:
        capture.stop()
    assert buffer.put_count == capture.frames == 60
    assert len(taken) + buffer.dropped == 60
    assert buffer.dropped > 0 and taken[-1] == 59
    assert capture.error == f"video {video} ended"


def test_a_missing_file_ends_saying_so(tmp_path: Path) -> None:
    capture = Capture(str(tmp_path / "none.avi"), LatestFrame())
    capture.start()
    until(lambda: capture.state is CaptureState.ENDED)
    capture.stop()
    assert capture.error == f"video {tmp_path / 'none.avi'}: no such file"


def test_a_dead_stream_is_reopened_after_the_backoff() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    url = f"http://127.0.0.1:{port}/stream.mjpg"
    capture = Capture(url, LatestFrame(), open_timeout_s=2.0, backoff=Backoff(0.05, 2.0, 0.2))
    capture.start()
    try:
        until(lambda: capture.reconnects >= 2)
        assert capture.state is CaptureState.RECONNECTING
        assert capture.error == f"cannot open {url}"
    finally:
        capture.stop()


@given(
    st.integers(16, 2000),
    st.integers(16, 2000),
    st.sampled_from([(416, 416), (640, 640), (384, 640)]),
    st.booleans(),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_letterbox_round_trip(
    w: int, h: int, input_hw: tuple[int, int], centred: bool, fx: float, fy: float
) -> None:
    image = np.zeros((h, w, 3), dtype=np.uint8)
    canvas, box = letterbox(image, input_hw, centred)
    assert canvas.shape == (*input_hw, 3)
    point = np.array([[fx * w, fy * h]])
    inside = box.to_input(point)
    assert (inside >= 0).all() and inside[0, 0] <= input_hw[1] and inside[0, 1] <= input_hw[0]
    np.testing.assert_allclose(box.to_image(inside), point, atol=1e-9)
    boxes = np.array([[fx * w, fy * h, w, h]])
    np.testing.assert_allclose(box.to_image(box.to_input(boxes)), boxes, atol=1e-9)
