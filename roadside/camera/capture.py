"""Frames from OpenCV at the I/O edge: a capture thread stamps each frame when it is grabbed and
leaves it in a one-slot buffer, where the newest frame wins.

When the detector is slower than the camera, a frame not yet taken when the next one arrives is
replaced and counted in ``LatestFrame.dropped``: frames are never queued without bound, and the
detector always works on the newest one.

Sources (``url``): a video file; an ``rtsp://``, ``rtmp://`` or ``http(s)://`` stream; a V4L2
device (``/dev/video0``) or a device index (``0``). A stream or device that cannot be opened or
stops delivering is reopened after the kernel's ``Backoff``; a file that ends is ``ENDED``.
``state`` and ``error`` say where the capture is, for the camera's sensor health.
"""

from __future__ import annotations

import enum
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vicoop.backoff import Backoff

log = logging.getLogger(__name__)

_STREAM = re.compile(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp)://", re.IGNORECASE)
_DEVICE = re.compile(r"^(\d+|/dev/video\d+)$")


@dataclass(frozen=True, eq=False)
class CapturedFrame:
    """One frame: its number since the capture started, when it was grabbed (ns since the Unix
    epoch, the RSU's clock) and the BGR image (h, w, 3)."""

    index: int
    captured_ns: int
    image: npt.NDArray[np.uint8]


class LatestFrame:
    """A one-slot buffer between a producer and a consumer thread; the newest frame wins.

    ``put`` replaces a frame nobody took (``dropped`` counts them); ``take`` waits for a frame
    and empties the slot."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: CapturedFrame | None = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, frame: CapturedFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout_s: float) -> CapturedFrame | None:
        """The newest frame not yet taken, waiting up to ``timeout_s``; None if there was none
        (or the buffer is closed)."""
        with self._cond:
            if self._frame is None and not self._closed:
                self._cond.wait(timeout_s)
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        """Wake a waiting ``take``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class SourceKind(enum.Enum):
    FILE = "file"
    STREAM = "stream"
    DEVICE = "device"


def source_kind(url: str) -> SourceKind:
    """What ``url`` names: a stream URL, a capture device, else a video file."""
    if _STREAM.match(url):
        return SourceKind.STREAM
    if _DEVICE.match(url):
        return SourceKind.DEVICE
    return SourceKind.FILE


def open_video(url: str, timeout_s: float) -> cv2.VideoCapture:
    """``cv2.VideoCapture`` for ``url``: a device by index or V4L2 path, else FFmpeg (files and
    streams), opening and reading bounded by ``timeout_s``."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our own errors say it
    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    if url.isdigit():
        return cv2.VideoCapture(int(url), cv2.CAP_V4L2, params)
    if url.startswith("/dev/video"):
        return cv2.VideoCapture(url, cv2.CAP_V4L2, params)
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)


class CaptureState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    STOPPED = "stopped"


class Capture:
    """Reads ``url`` in a thread into ``buffer``; ``start()``/``stop()`` own the thread.

    ``clock`` (ns since the Unix epoch) stamps each frame as it is grabbed. ``realtime_file``
    plays a file at its own frame rate (as a camera would deliver it). ``backoff`` spaces the
    attempts to reopen a stream or device; ``opener`` opens the source (``open_video``)."""

    def __init__(
        self,
        url: str,
        buffer: LatestFrame,
        clock: Callable[[], int] = time.time_ns,
        *,
        realtime_file: bool = True,
        open_timeout_s: float = 5.0,
        backoff: Backoff = Backoff(initial_s=0.5, max_s=10.0),
        opener: Callable[[str, float], cv2.VideoCapture] = open_video,
        name: str = "camera",
    ) -> None:
        self.url = url
        self.kind = source_kind(url)
        self.buffer = buffer
        self.clock = clock
        self.realtime_file = realtime_file
        self.open_timeout_s = open_timeout_s
        self.backoff = backoff
        self.opener = opener
        self.name = name
        self.state = CaptureState.STARTING
        self.error = ""
        self.frames = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-capture", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop reading; waits up to ``timeout_s`` for a read in progress to return."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.state = CaptureState.STOPPED

    def _run(self) -> None:
        delays = self.backoff.delays(random.Random())
        while not self._stop.is_set():
            delivered = self._read_until_failure()
            if self._stop.is_set():
                break
            if self.kind is SourceKind.FILE:
                self.state = CaptureState.ENDED
                self.error = self.error or f"video {self.url} ended"
                log.warning("%s: %s", self.name, self.error)
                return
            if delivered:
                delays = self.backoff.delays(random.Random())
            first = self.state is not CaptureState.RECONNECTING
            self.state = CaptureState.RECONNECTING
            (log.warning if first else log.debug)("%s: %s; reopening it", self.name, self.error)
            self.reconnects += 1
            self._stop.wait(next(delays))

    def _read_until_failure(self) -> bool:
        """Open the source and read it until it fails; whether it gave any frame."""
        if self.kind is SourceKind.FILE and not Path(self.url).is_file():
            self.error = f"video {self.url}: no such file"
            return False
        cap = self.opener(self.url, self.open_timeout_s)
        delivered = False
        try:
            if not cap.isOpened():
                self.error = f"cannot open {self.url}"
                return False
            fps = cap.get(cv2.CAP_PROP_FPS)
            period_s = (
                1.0 / fps
                if self.realtime_file and self.kind is SourceKind.FILE and fps > 0
                else 0.0
            )
            next_at = time.monotonic()
            while not self._stop.is_set():
                if not cap.grab():
                    break
                captured = self.clock()
                ok, image = cap.retrieve()
                if not ok or image is None:
                    break
                self.buffer.put(
                    CapturedFrame(self.frames, captured, np.asarray(image, dtype=np.uint8))
                )
                self.frames += 1
                if not delivered:
                    delivered = True
                    self.state = CaptureState.RUNNING
                    self.error = ""
                if period_s:
                    next_at += period_s
                    self._stop.wait(max(0.0, next_at - time.monotonic()))
            self.error = (
                f"video {self.url} ended"
                if self.kind is SourceKind.FILE
                else (f"stream {self.url} stopped delivering frames")
            )
            return delivered
        finally:
            cap.release()
