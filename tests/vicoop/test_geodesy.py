"""vicoop.geodesy: the exact conversions agree with each other, and the first-order tangent plane
stays within its documented error bound of the exact (pymap3d) conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vicoop.geodesy import (
    enu_rotation,
    enu_to_enu,
    enu_to_geodetic,
    geodetic_to_enu,
    tangent_plane,
)
from vicoop.model import GeodeticOrigin

# The smallest radius of curvature of WGS84, a (1 - e2), as in TangentPlane's bound.
R_MIN_M = 6_335_439.0

origins = st.builds(
    GeodeticOrigin,
    st.floats(-85.0, 85.0),
    st.floats(-180.0, 180.0),
    st.floats(-1000.0, 5000.0),
)


def bound_m(latitude_deg: float, distance_m: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    """TangentPlane's documented bound: d**2 / R * (|tan(lat0)| / sqrt(3) + d / R)."""
    tan = abs(math.tan(math.radians(latitude_deg)))
    out: np.ndarray = distance_m**2 / R_MIN_M * (tan / math.sqrt(3.0) + distance_m / R_MIN_M)  # type: ignore[type-arg]
    return out


def disc(seed: int, radius_m: float, n: int = 400) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """East and north metres of n points in a disc of ``radius_m``, a quarter of them on its rim."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = radius_m * np.sqrt(rng.uniform(0.0, 1.0, n))
    radius[: n // 4] = radius_m
    return radius * np.cos(angle), radius * np.sin(angle)


@settings(max_examples=150)
@given(origins, st.floats(1.0, 10_000.0), st.integers(0, 2**32 - 1))
def test_tangent_plane_stays_within_its_bound_of_the_exact_conversion(
    origin: GeodeticOrigin, radius_m: float, seed: int
) -> None:
    east, north = disc(seed, radius_m)
    distance = np.hypot(east, north)
    # Float noise of the exact round trip (nanometres), not part of the approximation.
    allowed = bound_m(origin.latitude_deg, distance) + 1e-6
    exact = enu_to_geodetic(np.column_stack([east, north, np.zeros_like(east)]), origin)
    plane = tangent_plane(origin)

    lat, lon = plane.to_lat_lon(east, north)
    where = geodetic_to_enu(np.column_stack([lat, lon, exact[:, 2]]), origin)
    assert np.all(np.hypot(where[:, 0] - east, where[:, 1] - north) <= allowed)
    assert np.all((lon >= -180.0) & (lon < 180.0))

    back_east, back_north = plane.to_east_north(exact[:, 0], exact[:, 1])
    assert np.all(np.hypot(back_east - east, back_north - north) <= allowed)


def test_the_bound_is_tight_where_the_error_is_largest() -> None:
    """At e**2 = 2 d**2 / 3 the error is the leading term of the bound, not far below it."""
    origin = GeodeticOrigin(50.9375, 6.9603, 55.0)
    d = 1000.0
    east, north = d * math.sqrt(2.0 / 3.0), d * math.sqrt(1.0 / 3.0)
    exact = enu_to_geodetic([[east, north, 0.0]], origin)
    lat, lon = tangent_plane(origin).to_lat_lon(np.array([east]), np.array([north]))
    where = geodetic_to_enu(np.column_stack([lat, lon, exact[:, 2]]), origin)
    error = float(np.hypot(where[0, 0] - east, where[0, 1] - north))
    assert 0.98 * float(bound_m(origin.latitude_deg, np.array(d))) < error
    assert error < float(bound_m(origin.latitude_deg, np.array(d)))


def test_within_three_centimetres_inside_an_rsu_coverage_in_cologne() -> None:
    """What the cloud twin relies on: 500 m of coverage at latitude 51."""
    origin = GeodeticOrigin(50.9375, 6.9603, 55.0)
    east, north = disc(7, 500.0, 2000)
    exact = enu_to_geodetic(np.column_stack([east, north, np.zeros_like(east)]), origin)
    lat, lon = tangent_plane(origin).to_lat_lon(east, north)
    where = geodetic_to_enu(np.column_stack([lat, lon, exact[:, 2]]), origin)
    error = np.hypot(where[:, 0] - east, where[:, 1] - north)
    assert 0.0 < error.max() < 0.03


def test_tangent_plane_across_the_antimeridian() -> None:
    origin = GeodeticOrigin(10.0, 179.999)
    plane = tangent_plane(origin)
    _, lon = plane.to_lat_lon(np.array([1000.0]), np.array([0.0]))
    exact = enu_to_geodetic([[1000.0, 0.0, 0.0]], origin)
    assert -180.0 < lon[0] < -179.98
    assert lon[0] == pytest.approx(exact[0, 1], abs=1e-8)
    east, north = plane.to_east_north(exact[:, 0], exact[:, 1])
    allowed = float(bound_m(origin.latitude_deg, np.array(1000.0)))
    assert math.hypot(east[0] - 1000.0, north[0]) <= allowed


@given(origins, origins, st.integers(0, 2**32 - 1))
def test_enu_to_enu_is_geodetic_round_trip_and_rotates_vectors(
    source: GeodeticOrigin, target: GeodeticOrigin, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-2000.0, 2000.0, (20, 3))
    moved = enu_to_enu(points, source, target)
    via_geodetic = geodetic_to_enu(enu_to_geodetic(points, source), target)
    assert np.allclose(moved, via_geodetic, rtol=0.0, atol=1e-6)
    rotation = enu_rotation(source, target)
    assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    step = rng.uniform(-10.0, 10.0, 3)
    shifted = enu_to_enu(points + step, source, target)
    assert np.allclose(shifted - moved, np.tile(rotation @ step, (20, 1)), rtol=0.0, atol=1e-6)


@given(origins, st.integers(0, 2**32 - 1))
def test_exact_round_trip(origin: GeodeticOrigin, seed: int) -> None:
    points = np.random.default_rng(seed).uniform(-5000.0, 5000.0, (50, 3))
    back = geodetic_to_enu(enu_to_geodetic(points, origin), origin)
    assert np.allclose(back, points, rtol=0.0, atol=1e-6)


def test_shapes() -> None:
    origin = GeodeticOrigin(50.0, 7.0, 100.0)
    assert enu_to_geodetic(np.zeros((0, 3)), origin).shape == (0, 3)
    assert geodetic_to_enu(np.zeros((0, 2)), origin).shape == (0, 3)
    assert np.allclose(geodetic_to_enu([50.0, 7.0, 100.0], origin), [[0.0, 0.0, 0.0]])
    # (M, 2) points are at the origin's altitude: the origin itself maps to 0 up.
    assert np.allclose(geodetic_to_enu([[50.0, 7.0]], origin), [[0.0, 0.0, 0.0]])
    assert np.allclose(enu_to_geodetic([0.0, 0.0, 0.0], origin), [[50.0, 7.0, 100.0]])
    assert np.allclose(enu_rotation(origin, origin), np.eye(3))
    with pytest.raises(ValueError, match=r"\(M, 3\)"):
        enu_to_geodetic(np.zeros((2, 2)), origin)
