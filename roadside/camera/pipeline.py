"""A camera on pixels as a sensor input of the fusion: capture -> detector -> ``CameraFrame``.

``PixelCamera`` owns two threads (``start()``/``stop()``): the ``Capture`` filling a one-slot
``LatestFrame`` and a detector thread taking the newest frame, detecting, mapping classes to
``ObjectClass`` (unmapped ones dropped) and handing the frame to the event loop, where it is
checked against the RSU's time window and fused like a JSON camera's frame (``sink``). Its
``stats`` are an ``IngestStats`` as every input's: frames fused, and rejections by reason
(``frame_dropped``: replaced by a newer one before the detector took it; ``stale``/``future``;
``detector_error``).

A model that cannot be loaded, or a source that cannot be opened or has ended, never raises out
of here: the camera then delivers nothing (the fusion judges it SILENT, the other sensors go on)
and ``failure`` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from roadside.camera.base import CameraError, Detections
from roadside.camera.capture import (
    Capture,
    CapturedFrame,
    CaptureState,
    LatestFrame,
    open_video,
)
from roadside.camera.classes import ClassMapper
from roadside.camera.config import DetectorConfig, PixelsInputConfig
from roadside.camera.detector import Detector
from roadside.ingest.base import CameraFrame, IngestStats, ParseError, TimeWindow
from vicoop.backoff import Backoff

log = logging.getLogger(__name__)


def camera_frame(
    sensor_id: str, frame: CapturedFrame, detections: Detections, mapper: ClassMapper
) -> CameraFrame:
    """The detections of ``frame`` as a ``CameraFrame`` of ``ObjectClass`` values, boxes of
    classes the map drops left out."""
    classes = mapper.map(detections.class_ids)
    keep = classes >= 0
    return CameraFrame(
        sensor_id,
        frame.index,
        frame.captured_ns,
        detections.boxes[keep],
        classes[keep],
        np.clip(detections.scores[keep], 0.0, 1.0),
    )


class PixelCamera:
    """One camera on pixels; see the module docstring. ``clock`` (ns since the Unix epoch) stamps
    frames at capture and their hand-over to the fusion."""

    def __init__(
        self,
        sensor_id: str,
        config: PixelsInputConfig,
        sink: Callable[[CameraFrame], None],
        window: TimeWindow | None = None,
        clock: Callable[[], int] = time.time_ns,
        *,
        open_detector: Callable[[DetectorConfig], Detector] = Detector.open,
        opener: Callable[[str, float], cv2.VideoCapture] = open_video,
    ) -> None:
        self.sensor_id = sensor_id
        self.config = config
        self.sink = sink
        self.window = window
        self.clock = clock
        self.open_detector = open_detector
        self.stats = IngestStats()
        self.buffer = LatestFrame()
        self.capture = Capture(
            config.url,
            self.buffer,
            clock,
            realtime_file=config.realtime_file,
            open_timeout_s=config.open_timeout_s,
            backoff=Backoff(
                initial_s=config.reconnect_initial_s, factor=2.0, max_s=config.reconnect_max_s
            ),
            opener=opener,
            name=f"camera {sensor_id}",
        )
        self.model_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def failure(self) -> str:
        """Why the camera delivers nothing (``""`` while it works)."""
        if self.model_error:
            return self.model_error
        if self.capture.state in (CaptureState.RECONNECTING, CaptureState.ENDED):
            return self.capture.error
        return ""

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._run, name=f"camera-{self.sensor_id}-detector", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        self.buffer.close()
        await asyncio.to_thread(self.capture.stop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)

    # -- detector thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            detector = self.open_detector(self.config)
        except CameraError as exc:
            self.model_error = str(exc)
            log.error("camera %s: %s; the camera stays SILENT", self.sensor_id, exc)
            return
        log.info(
            "camera %s: %s layout, %d classes, %dx%d input, provider %s; reading %s",
            self.sensor_id,
            detector.layout.name,
            len(detector.class_names),
            detector.input_hw[1],
            detector.input_hw[0],
            detector.session.get_providers()[0],
            self.config.url,
        )
        if self._stop.is_set():
            return
        self.capture.start()
        failing = False
        while not self._stop.is_set():
            frame = self.buffer.take(0.5)
            if frame is None:
                continue
            try:
                found = camera_frame(
                    self.sensor_id, frame, detector.detect(frame.image), detector.mapper
                )
            except Exception:  # a frame the model chokes on must not stop the camera
                self._count_on_loop("detector_error")
                if not failing:
                    log.exception("camera %s: detection failed", self.sensor_id)
                failing = True
                continue
            failing = False
            self._on_loop(self._deliver, found)

    def _on_loop(self, fn: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop closed while a frame was in flight
            self._loop.call_soon_threadsafe(fn, *args)

    def _count_on_loop(self, reason: str) -> None:
        self._on_loop(self._count, reason)

    def _count(self, reason: str) -> None:
        self.stats.rejected[reason] += 1

    # -- event loop ---------------------------------------------------------------------------

    def _deliver(self, frame: CameraFrame) -> None:
        """Check a detected frame's time and fuse it (on the event loop's thread)."""
        received = self.clock()
        dropped = self.buffer.dropped
        if dropped:
            self.stats.rejected["frame_dropped"] = dropped
        try:
            if self.window is not None:
                self.window.check(self.sensor_id, frame.measured_at_ns, received)
        except ParseError as exc:
            self.stats.reject(exc, received)
            return
        self.stats.accepted += 1
        self.stats.last_accepted_ns = frame.measured_at_ns
        self.stats.last_received_ns = received
        try:
            self.sink(frame)
        except Exception:
            self.stats.rejected["sink_error"] += 1
            log.exception("camera %s: fusing frame %d failed", self.sensor_id, frame.frame)
