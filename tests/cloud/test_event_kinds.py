"""Every kind of event an RSU sends can be asked for by name in the control API."""

from __future__ import annotations

import typing

from cloud.schemas import EventKindName
from vicoop.cloudmodel import EventKind


def test_every_event_kind_has_an_api_name() -> None:
    names = set(typing.get_args(EventKindName))
    assert names == {k.name.lower() for k in EventKind if k is not EventKind.UNSPECIFIED}
