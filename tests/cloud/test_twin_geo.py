"""The twin's positions: its fast ENU -> WGS84 conversion stays within 3 cm of the exact one over
an RSU's coverage, and what two RSUs see at one place merges into one road user."""

from __future__ import annotations

import numpy as np

from cloud.twin import Twin
from vicoop.cloudmodel import PerceptionSummary
from vicoop.geodesy import enu_to_enu, enu_to_geodetic, geodetic_to_enu
from vicoop.model import DetectedObject, GeodeticOrigin, ObjectClass, Size3, Vec3

NOW_NS = 1_700_000_000 * 10**9


def car(track_id: int, east_m: float, north_m: float) -> DetectedObject:
    return DetectedObject(
        track_id,
        ObjectClass.CAR,
        0.9,
        Vec3(east_m, north_m, 0.0),
        Vec3(5.0, 0.0),
        0.0,
        Size3(4.5, 1.8, 1.5),
        (0.2, 0, 0, 0.2, 0, 0.01),
        0.99,
        NOW_NS,
    )


def summary(
    rsu_id: str, origin: GeodeticOrigin, objects: tuple[DetectedObject, ...]
) -> PerceptionSummary:
    return PerceptionSummary(rsu_id, 1, NOW_NS, NOW_NS, origin, objects)


def test_within_three_centimetres_of_the_exact_conversion_inside_500_m() -> None:
    for origin in (GeodeticOrigin(50.9375, 6.9603, 55.0), GeodeticOrigin(-33.86, 151.21, 5.0)):
        rng = np.random.default_rng(7)
        angle, radius = rng.uniform(0, 2 * np.pi, 300), 500 * np.sqrt(rng.uniform(0, 1, 300))
        radius[:75] = 500.0
        east, north = radius * np.cos(angle), radius * np.sin(angle)
        twin = Twin()
        objects = tuple(
            car(k, float(e), float(n)) for k, (e, n) in enumerate(zip(east, north, strict=True))
        )
        twin.apply_summary(summary("rsu-1", origin, objects), NOW_NS)
        live = sorted(twin.objects(NOW_NS), key=lambda o: int(o.object_id.split(":")[1]))
        assert len(live) == len(objects)
        exact = enu_to_geodetic(np.column_stack([east, north, np.zeros_like(east)]), origin)
        where = geodetic_to_enu(
            np.column_stack(
                [[o.latitude_deg for o in live], [o.longitude_deg for o in live], exact[:, 2]]
            ),
            origin,
        )
        error_m = np.hypot(where[:, 0] - east, where[:, 1] - north)
        assert error_m.max() < 0.03
        assert error_m.max() > 0.0  # it is an approximation, and the test can tell


def test_two_rsus_seeing_one_car_merge_it_and_keep_two_cars_apart() -> None:
    west, east = GeodeticOrigin(50.9375, 6.9603, 55.0), GeodeticOrigin(50.9380, 6.9650, 52.0)
    # Where the west RSU sees its cars, in the east RSU's frame: one car 1 m off (merges, the
    # radius is 3 m), one 4 m off (a different car).
    seen_west = np.array([[120.0, 30.0, 0.0], [150.0, 10.0, 0.0]])
    seen_east = enu_to_enu(seen_west, west, east) + np.array([[1.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    twin = Twin(merge_radius_m=3.0)
    twin.apply_summary(
        summary("west", west, tuple(car(k, x, y) for k, (x, y, _) in enumerate(seen_west))), NOW_NS
    )
    twin.apply_summary(
        summary("east", east, tuple(car(k, x, y) for k, (x, y, _) in enumerate(seen_east))), NOW_NS
    )
    seen_by = sorted(o.seen_by for o in twin.objects(NOW_NS))
    assert seen_by == [("east",), ("east", "west"), ("west",)]
