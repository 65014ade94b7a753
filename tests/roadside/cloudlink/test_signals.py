"""The SignalBook: which signal state an RSU publishes for each intersection, and when."""

from __future__ import annotations

from roadside.cloudlink import SignalBook
from vicoop.cloudmodel import SignalColour, SignalGroupState, SignalState
from vicoop.model import NS_PER_S

T = 1_700_000_000 * NS_PER_S
MS = NS_PER_S // 1000
G, R, D = SignalColour.GREEN, SignalColour.RED, SignalColour.DARK


def state(north: SignalColour, next_change_ns: int = 0, t: int = T) -> SignalState:
    return SignalState(
        "rsu-1",
        "j1",
        t,
        (
            SignalGroupState("n", "north", north, next_change_ns),
            SignalGroupState("e", "east", R if north is G else G, next_change_ns),
        ),
    )


def book(source: str = "controller") -> SignalBook:
    return SignalBook("rsu-1", ["j1"], source, 3 * NS_PER_S)  # type: ignore[arg-type]


def colours(states: list[SignalState]) -> list[tuple[str, ...]]:
    return [tuple(f"{g.approach}={g.colour.name.lower()}" for g in s.groups) for s in states]


def test_a_change_is_due_at_once_and_at_most_ten_a_second() -> None:
    b = book()
    assert colours(b.due(T)) == [()]  # nothing heard yet: no groups, no made-up colour
    b.update(state(G), T + 100 * MS)
    assert colours(b.due(T + 100 * MS)) == [("north=green", "east=red")]
    b.update(state(G, t=T + 160 * MS), T + 160 * MS)
    assert b.due(T + 160 * MS) == []  # the same colours: nothing new to say
    b.update(state(R), T + 170 * MS)
    assert b.due(T + 170 * MS) == []  # 70 ms after the last: held back ...
    assert b.next_due_ns(T + 170 * MS) == T + 200 * MS
    assert colours(b.due(T + 200 * MS)) == [("north=red", "east=green")]  # ... until 100 ms
    assert colours(b.due(T + 210 * MS, every=True)) == [("north=red", "east=green")]


def test_a_moved_expected_change_is_due_but_jitter_is_not() -> None:
    b = book()
    b.update(state(G, T + 10 * NS_PER_S), T)
    b.due(T)
    b.update(state(G, T + 10 * NS_PER_S + 40 * MS), T + NS_PER_S)
    assert b.due(T + NS_PER_S) == []
    b.update(state(G, T + 15 * NS_PER_S), T + 2 * NS_PER_S)
    assert [g.next_change_ns for s in b.due(T + 2 * NS_PER_S) for g in s.groups] == [
        T + 15 * NS_PER_S
    ] * 2


def test_a_silent_controller_makes_the_groups_dark() -> None:
    b = book()
    b.update(state(G, T + 5 * NS_PER_S), T)
    b.due(T)
    assert b.next_due_ns(T + NS_PER_S) == T + 3 * NS_PER_S + 1
    assert b.due(T + 3 * NS_PER_S) == []
    dark = b.due(T + 3 * NS_PER_S + 1)
    assert colours(dark) == [("north=dark", "east=dark")]
    assert [g.next_change_ns for g in dark[0].groups] == [0, 0]
    b.update(state(R), T + 4 * NS_PER_S)
    assert colours(b.due(T + 4 * NS_PER_S)) == [("north=red", "east=green")]


def test_fixed_time_and_none() -> None:
    assert {g.colour for s in book("fixed_time").due(T, every=True) for g in s.groups} <= {
        G,
        R,
        SignalColour.AMBER,
        SignalColour.RED_AMBER,
    }
    quiet = book("none")
    quiet.update(state(G), T)
    assert quiet.due(T, every=True) == [] and quiet.next_due_ns(T) is None
    assert D not in {g.colour for s in book("fixed_time").due(T) for g in s.groups}
