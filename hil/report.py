"""The HTML report of a run: one self-contained page (inline SVG, no script, no CDN).

At a glance: the headline figures, every fault's outcome, the latency histogram, the tracks
against the ground truth on the map of the first RSU (with its sensors' fields of view), and
tracking quality and object counts over time with the fault windows shaded.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hil.result import MapData, Percentiles, RunResult

W, H, PAD = 640, 220, 40


def _fmt(v: Any) -> str:
    return "—" if v is None else (f"{v:.4g}" if isinstance(v, float) else html.escape(str(v)))


def latency_histogram(latencies_ms: Sequence[float]) -> str:
    if not latencies_ms:
        return "<p>no frames received</p>"
    a = np.asarray(latencies_ms)
    hi = float(np.percentile(a, 99.9)) * 1.1 or 1.0
    counts, edges = np.histogram(np.clip(a, 0, hi), bins=40, range=(0, hi))
    top = max(int(counts.max()), 1)
    bw = (W - 2 * PAD) / len(counts)
    bars = "".join(
        f'<rect x="{PAD + i * bw:.1f}" y="{H - PAD - (c / top) * (H - 2 * PAD):.1f}" width="{bw - 1:.1f}" '
        f'height="{(c / top) * (H - 2 * PAD):.1f}" fill="#4a7ab5"><title>{edges[i]:.1f}-{edges[i + 1]:.1f} ms: {c}</title></rect>'
        for i, c in enumerate(counts)
    )
    ticks = "".join(
        f'<text x="{PAD + f * (W - 2 * PAD):.1f}" y="{H - PAD + 15}" font-size="11" text-anchor="middle">{f * hi:.0f}</text>'
        for f in (0, 0.25, 0.5, 0.75, 1.0)
    )
    p50, p99 = np.percentile(a, [50, 99])
    marks = "".join(
        f'<line x1="{PAD + v / hi * (W - 2 * PAD):.1f}" x2="{PAD + v / hi * (W - 2 * PAD):.1f}" y1="{PAD - 10}" y2="{H - PAD}" '
        f'stroke="{c}" stroke-dasharray="4 3"/><text x="{PAD + v / hi * (W - 2 * PAD) + 3:.1f}" y="{PAD - 12}" font-size="11" fill="{c}">{n} {v:.1f}</text>'
        for v, n, c in ((p50, "p50", "#2a8"), (p99, "p99", "#c33"))
    )
    return (
        f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}">{bars}{ticks}{marks}'
        f'<text x="{W / 2}" y="{H - 5}" font-size="12" text-anchor="middle">latency, ms (n = {len(a)})</text></svg>'
    )


def track_map(data: MapData, size: int = 560) -> str:
    pts = [p for line in [*data.truth, *data.tracks] for p in line]
    if not pts:
        return "<p>nothing to draw</p>"
    xy = np.asarray(pts, dtype=float)
    span = max(float(np.abs(xy).max()), 20.0) * 1.05

    def sx(x: float) -> float:
        return size / 2 + x / span * size / 2

    def sy(y: float) -> float:
        return size / 2 - y / span * size / 2

    def path(line: Sequence[tuple[float, float]], colour: str, width: float, dash: str = "") -> str:
        d = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(p[0]):.1f},{sy(p[1]):.1f}" for i, p in enumerate(line)
        )
        return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-opacity="0.8" {dash}/>'

    parts = []
    for kind, x, y, yaw, half, reach in data.sensors:
        a0, a1 = yaw - half, yaw + half
        r = min(reach, span * 1.5)
        colour = "#e8d9a8" if kind == "radar" else "#bcd9c4"
        parts.append(
            f'<path d="M{sx(x):.1f},{sy(y):.1f} L{sx(x + r * math.cos(a0)):.1f},{sy(y + r * math.sin(a0)):.1f} '
            f'A{r / span * size / 2:.1f},{r / span * size / 2:.1f} 0 0 0 {sx(x + r * math.cos(a1)):.1f},{sy(y + r * math.sin(a1)):.1f} Z" '
            f'fill="{colour}" fill-opacity="0.25" stroke="none"/>'
        )
    parts += [path(line, "#999", 3.0) for line in data.truth if len(line) > 1]
    palette = [
        "#d62728",
        "#1f77b4",
        "#2ca02c",
        "#9467bd",
        "#ff7f0e",
        "#8c564b",
        "#e377c2",
        "#17becf",
    ]
    parts += [
        path(line, palette[i % len(palette)], 1.2)
        for i, line in enumerate(data.tracks)
        if len(line) > 1
    ]
    for kind, x, y, *_ in data.sensors:
        parts.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{"#a60" if kind == "radar" else "#262"}"><title>{kind}</title></circle>'
        )
    legend = (
        '<text x="8" y="16" font-size="12">grey: ground truth in coverage (SUMO) · colours: tracks received · '
        "shaded: radar (yellow) and camera (green) fields of view</text>"
    )
    return f'<svg width="{size}" height="{size + 10}" viewBox="0 -10 {size} {size + 10}" style="background:#fafafa">{"".join(parts)}{legend}</svg>'


def timeline_chart(
    timeline: Sequence[tuple[float, int, int, int, int, int]],
    windows: Sequence[tuple[str, float, float]],
    latency: Sequence[tuple[float, float]] = (),
) -> str:
    if not timeline:
        return "<p>no ground truth scored</p>"
    t = np.array([r[0] for r in timeline])
    gt = np.array([r[1] for r in timeline], dtype=float)
    err = np.array([r[3] + r[4] + r[5] for r in timeline], dtype=float)
    mota = np.where(gt > 0, 1.0 - err / np.maximum(gt, 1), np.nan)
    objects = gt
    t_max = max(float(t.max()), 1.0)

    def x(v: float) -> float:
        return PAD + v / t_max * (W - 2 * PAD)

    def y(v: float, lo: float, hi: float) -> float:
        return H - PAD - (v - lo) / (hi - lo) * (H - 2 * PAD)

    shade = "".join(
        f'<rect x="{x(a):.1f}" y="{PAD}" width="{max(x(b) - x(a), 2):.1f}" height="{H - 2 * PAD}" fill="#f4c7c3" opacity="0.6">'
        f'<title>{html.escape(n)}</title></rect><text x="{x(a):.1f}" y="{PAD - 4}" font-size="9" transform="rotate(-20 {x(a):.1f} {PAD - 4})">{html.escape(n)}</text>'
        for n, a, b in windows
    )
    lo = min(0.0, float(np.nanmin(mota)) if np.isfinite(mota).any() else 0.0)
    line = " ".join(
        f"{x(tt):.1f},{y(m, lo, 1.0):.1f}"
        for tt, m in zip(t, mota, strict=True)
        if math.isfinite(m)
    )
    top = max(float(objects.max()), 1.0)
    line2 = " ".join(f"{x(tt):.1f},{y(o, 0, top):.1f}" for tt, o in zip(t, objects, strict=True))
    axis = "".join(
        f'<text x="{x(v):.1f}" y="{H - PAD + 15}" font-size="11" text-anchor="middle">{v:.0f}</text>'
        for v in np.linspace(0, t_max, 6)
    )
    lat_top = max((v for _, v in latency), default=1.0) or 1.0
    line3 = " ".join(f"{x(t):.1f},{y(v, 0, lat_top):.1f}" for t, v in latency if t <= t_max)
    return (
        f'<svg width="{W}" height="{H + 16}" viewBox="0 0 {W} {H + 16}">{shade}'
        f'<polyline points="{line2}" fill="none" stroke="#bbb" stroke-width="1"/>'
        f'<polyline points="{line3}" fill="none" stroke="#e07b00" stroke-width="1"/>'
        f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>{axis}'
        f'<text x="{PAD}" y="{H - 5}" font-size="12">blue: MOTA per second ({lo:.2f} to 1) · grey: ground-truth detections per second (0 to {top:.0f}) · '
        f'red: fault windows · x: s</text><text x="{PAD}" y="{H + 11}" font-size="12">orange: latency p50 per second '
        f"(0 to {lat_top:.0f} ms)</text></svg>"
    )


def _p(p: Percentiles, *which: str) -> str:
    return " / ".join(_fmt(getattr(p, w)) for w in which)


def write_report(path: Path, result: RunResult) -> None:
    """Write the report of ``result`` (the run, with its series for the charts)."""
    head = [
        ("MOTA", result.mota),
        ("IDF1", result.idf1),
        ("HOTA", result.hota),
        ("position RMSE, m", result.position_rmse_m),
        ("velocity RMSE, m/s", result.velocity_rmse_mps),
        ("latency p50 / p99 / max, ms", _p(result.latency_ms, "p50", "p99", "max")),
        (
            "latency outside faults p50 / p99 / max, ms",
            _p(result.latency_ms_outside_faults, "p50", "p99", "max"),
        ),
        ("measurement → vehicle p50 / p99, ms", _p(result.measurement_to_vehicle_ms, "p50", "p99")),
        (
            "frames lost (outside faults)",
            f"{result.frames_lost} ({result.frames_lost_outside_faults})",
        ),
        ("MOTA outside faults", result.mota_outside_faults),
        (
            "mode, duration",
            f"{result.mode}, {result.duration_s} s, {result.vehicle_clients} vehicle clients",
        ),
    ]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in head)
    faults = (
        "".join(
            f'<tr><td>{html.escape(name)}</td><td style="color:{"#2a2" if f.passed else "#c22"}">{"passed" if f.passed else "FAILED"}</td>'
            f"<td>{html.escape(f.expected)}</td><td><small>{html.escape(', '.join(f'{k}={v}' for k, v in f.to_json().items() if k not in ('passed', 'expected')))}</small></td></tr>"
            for name, f in result.faults.items()
        )
        or "<tr><td colspan=4>no faults injected</td></tr>"
    )
    sensors = ""
    for rsu_id, r in result.rsus.items():
        for sid, s in r.sensors.items():
            share = ", ".join(f"{k} {v:.1%}" for k, v in s.health_share.items())
            sensors += f"<tr><td>{html.escape(rsu_id)}</td><td>{html.escape(sid)}</td><td>{s.datagrams_sent}</td><td>{share}</td></tr>"
    data = result.report
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>vicoop HIL report</title>
<style>body{{font-family:sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse;margin:8px 0 20px}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}} h2{{margin-top:28px}}</style></head><body>
<h1>vicoop HIL run</h1><p>{html.escape(result.scenario)}</p>
<table>{rows}</table>
<h2>Faults</h2><table><tr><th>fault</th><th>outcome</th><th>expected</th><th>figures</th></tr>{faults}</table>
<h2>Latency (received - valid_at)</h2>{latency_histogram(data.latencies_ms)}
<h2>Tracks against ground truth</h2>{track_map(data.map)}
<h2>Over time</h2>{timeline_chart(data.timeline, data.fault_windows, data.latency_timeline)}
<h2>Sensors</h2><table><tr><th>RSU</th><th>sensor</th><th>datagrams sent</th><th>health in received frames</th></tr>{sensors}</table>
</body></html>"""
    path.write_text(page, encoding="utf-8")
