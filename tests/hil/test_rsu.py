"""Choosing how the RSU under test runs: by name from hil.rsu.MODES, checked against the run."""

from __future__ import annotations

import pytest

from hil.errors import HilError
from hil.rsu import MODES, choose_mode


def test_auto_picks_the_rsu_for_the_clock_and_target() -> None:
    assert choose_mode("auto", realtime=False, target=None, rsus=2) is MODES["inprocess"]
    assert choose_mode("auto", realtime=True, target=None, rsus=2) is MODES["process"]
    assert choose_mode("auto", realtime=True, target="rsu:50051", rsus=1) is MODES["external"]
    assert choose_mode("inprocess", realtime=True, target=None, rsus=1) is MODES["inprocess"]


@pytest.mark.parametrize(
    ("name", "realtime", "target", "rsus", "message"),
    [
        ("auto", False, "rsu:50051", 1, "only in real time"),
        ("auto", True, "rsu:50051", 2, "needs a site with one RSU"),
        ("external", True, None, 1, "needs --rsu HOST:PORT"),
        ("process", False, None, 1, "lock-step steps the RSU in the rig's process"),
        ("elsewhere", True, None, 1, "unknown RSU mode 'elsewhere'"),
    ],
)
def test_a_mode_that_does_not_fit_the_run_is_one_clear_error(
    name: str, realtime: bool, target: str | None, rsus: int, message: str
) -> None:
    with pytest.raises(HilError, match=message):
        choose_mode(name, realtime, target, rsus)
