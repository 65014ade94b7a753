"""Freezing a daemon's start-up heap: what was alive is out of the collector's reach, and
garbage made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from vicoop.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_startup_objects_are_frozen_and_later_cycles_still_collected(unfrozen: None) -> None:
    kept = Node()
    frozen = freeze_startup_heap()
    assert frozen > 1000  # the interpreter, pytest and vicoop's modules at least
    assert gc.get_freeze_count() == frozen
    assert not any(o is kept for o in gc.get_objects())  # tracked objects exclude frozen ones

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
