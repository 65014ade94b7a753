"""Extended objects seen by point and near-side sensors.

A radar's position is a reflection point somewhere on the object (``Scan.extent_fraction``): its
spread over each track's footprint is added to the position (and, through the changed line of
sight, to the radial speed), and the scatter the track's points show beyond that is learnt. A
near-side sensor's centres (``Scan.centre_offsets``, a camera's) are placed again with each
track's heading and size, or, while its class is unsure, with the offset's mean and variance
over its class belief. A sensor that reports only whole objects (``Scan.whole_object_coverage``)
could see a track only when its whole footprint is inside the coverage.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from roadside.fusion.base import (
    CLASS_SIZE_TABLE,
    FloatArray,
    IntArray,
    Scan,
    near_side_offsets,
)
from roadside.fusion.config import TrackerConfig
from roadside.fusion.imm import Measurements
from roadside.fusion.measurement.base import Expected, MeasurementModel
from roadside.fusion.measurement.footprint import Footprint
from roadside.fusion.tracks import Tracks

# Relative standard deviation of an object's length and width about its class's (or measured) ones.
_SIZE_REL_SIGMA = 0.1
# Weight of each new measurement in a track's running scatter (once it has had enough).
_SCATTER_WEIGHT = 0.1


def _quad2(v: FloatArray, m: FloatArray) -> FloatArray:
    """(B,) v' M v for (B, 2) vectors and (B, 2, 2) symmetric matrices."""
    a, b = v[:, 0], v[:, 1]
    out: FloatArray = a * a * m[:, 0, 0] + 2.0 * a * b * m[:, 0, 1] + b * b * m[:, 1, 1]
    return out


class ExtendedObjectModel(MeasurementModel):
    """See the module docstring."""

    name = "extended-object"

    @classmethod
    def from_config(cls, config: TrackerConfig) -> ExtendedObjectModel:
        """The model (it has nothing to configure)."""
        del config
        return cls()

    def expect(
        self, tracks: Tracks, scan: Scan, states: FloatArray, covariances: FloatArray
    ) -> Expected:
        needs_footprint = (
            scan.extent_fraction > 0
            or scan.centre_offsets is not None
            or scan.whole_object_coverage
        )
        footprint = Footprint.of(tracks, states) if needs_footprint else None
        spread = (
            footprint.extent_covariances(scan.extent_fraction)
            if footprint is not None and scan.extent_fraction > 0
            else None
        )
        gate = covariances[:, :2, :2] if spread is None else covariances[:, :2, :2] + spread
        return Expected(states, covariances, gate, footprint, spread)

    def classified(self, expected: Expected, tracks: Tracks, rows: IntArray) -> Expected:
        if expected.footprint is None:
            return expected
        return Expected(
            expected.states,
            expected.covariances,
            expected.gate_covariances,
            expected.footprint.classified(tracks, rows),
            expected.spread,
        )

    def measurements(
        self, expected: Expected, scan: Scan, rows: IntArray, cols: IntArray
    ) -> Measurements:
        shape, spread = expected.footprint, expected.spread
        z = scan.positions[cols]
        r = scan.covariances[cols]
        if spread is not None:
            r = r + spread[rows]
        o = scan.centre_offsets
        if o is not None and shape is not None:
            known = shape.heading_known[rows]
            if known.any():
                k, tr = cols[known], rows[known]
                los = z[known] - np.asarray(scan.sensor_position)
                u = los / np.maximum(np.hypot(los[:, 0], los[:, 1]), 1e-6)[:, None]
                offset = near_side_offsets(
                    shape.lw[tr, 0], shape.lw[tr, 1], shape.heading[tr], o.axis_rad, u
                )
                var = (_SIZE_REL_SIGMA * offset) ** 2
                mix = shape.mix[tr]
                by_class = mix.any(axis=1)
                if by_class.any():
                    # Not sure of the class, not sure of the offset: its mean and variance over
                    # the classes (a pedestrian the detector called a car is not placed 2 m off).
                    each = near_side_offsets(
                        CLASS_SIZE_TABLE[:, 0],
                        CLASS_SIZE_TABLE[:, 1],
                        shape.heading[tr][:, None],
                        o.axis_rad,
                        u[:, None, :],
                    )
                    m1 = (mix * each).sum(axis=1)
                    m2 = (mix * each * each).sum(axis=1) * (1.0 + _SIZE_REL_SIGMA**2)
                    offset = np.where(by_class, m1, offset)
                    var = np.where(by_class, np.maximum(m2 - m1 * m1, 0.0), var)
                z = z.copy()
                z[known] += u * (offset - o.offsets[k])[:, None]
                r = r.copy()
                r[known] += (var - o.variances[k])[:, None, None] * (u[:, :, None] * u[:, None, :])
        if scan.radial_speeds is None:
            return Measurements(z, r)
        b = cols.size
        z3 = np.column_stack([z, scan.radial_speeds[cols]])
        r3 = np.zeros((b, 3, 3))
        r3[:, :2, :2] = r
        r3[:, 2, 2] = scan.radial_speed_var
        if spread is not None:
            # A point e off the centre is seen along another line of sight: its radial speed
            # differs by g.e, g = (v - vr u) / rho the radial speed's gradient in position.
            x = expected.states[rows]
            d = x[:, :2] - np.asarray(scan.sensor_position)
            rho = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-3)
            u = d / rho[:, None]
            vr = np.einsum("bi,bi->b", x[:, 2:4], u)
            g = (x[:, 2:4] - vr[:, None] * u) / rho[:, None]
            e = spread[rows]
            eg = np.einsum("bij,bj->bi", e, g)
            r3[:, :2, 2] = r3[:, 2, :2] = eg
            # g is uncertain through the velocity across the line of sight (unit v): add
            # E[g' E g] - g' E g = tr(E cov g) = (v' Pv v)(v' E v) / rho^2.
            v = np.column_stack([-u[:, 1], u[:, 0]])
            pv = expected.covariances[rows, 2:4, 2:4]
            r3[:, 2, 2] += np.einsum("bi,bi->b", g, eg) + _quad2(v, pv) * _quad2(v, e) / (rho * rho)
        return Measurements(z3, r3, scan.sensor_position)

    def covered(self, expected: Expected, scan: Scan) -> npt.NDArray[np.bool_]:
        n = expected.states.shape[0]
        if scan.coverage is None:
            return np.ones(n, dtype=bool)
        if scan.whole_object_coverage and expected.footprint is not None:
            return expected.footprint.inside(expected.states[:, :2], scan.coverage)
        return scan.coverage.contains(expected.states[:, :2])

    def learn(
        self,
        tracks: Tracks,
        scan: Scan,
        rows: IntArray,
        cols: IntArray,
        expected: Expected | None,
    ) -> None:
        if rows.size == 0:
            return
        if expected is not None and expected.spread is not None and expected.footprint is not None:
            self._learn_scatter(tracks, scan, rows, cols, expected, expected.footprint)
        if scan.sizes is not None:
            s = scan.sizes[cols]
            known = np.isfinite(s)
            tracks.size_sum[rows] += np.where(known, s, 0.0)
            tracks.size_n[rows] += known

    @staticmethod
    def _learn_scatter(
        tracks: Tracks,
        scan: Scan,
        rows: IntArray,
        cols: IntArray,
        expected: Expected,
        shape: Footprint,
    ) -> None:
        """Fold the squared innovations along and across each moving track's heading, less what
        the track's and the sensor's own uncertainty explain, into its running scatter."""
        known = shape.heading_known[rows]
        if not known.any():
            return
        r, k = rows[known], cols[known]
        c, s = np.cos(shape.heading[r]), np.sin(shape.heading[r])
        dx, dy = (scan.positions[k] - expected.states[r, :2]).T
        cov = expected.covariances[r, :2, :2] + scan.covariances[k]
        sxx, sxy, syy = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
        # Innovations and their predicted variances along (c, s) and across (-s, c) the heading.
        along, across = c * dx + s * dy, c * dy - s * dx
        cs2 = 2.0 * c * s * sxy
        base_along = c * c * sxx + cs2 + s * s * syy
        base_across = s * s * sxx - cs2 + c * c * syy
        excess = np.column_stack([along * along - base_along, across * across - base_across])
        n = tracks.scatter_n[r]
        w = np.where(n == 0, 1.0, np.maximum(_SCATTER_WEIGHT, 1.0 / (n + 1)))[:, None]
        tracks.scatter[r] = (1.0 - w) * tracks.scatter[r] + w * excess
        tracks.scatter_n[r] = n + 1
