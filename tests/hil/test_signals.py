"""SUMO's traffic lights through the rig to the RSU's signal input and on to the broker: the
signal states the twin receives are SUMO's, step for step; a junction without a traffic light
gets none."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from cloud.broker import EmbeddedBroker
from hil.cli import BUNDLED, resolve_scenario
from hil.geo import NetToEnu
from hil.rig import Rig, RigOptions
from hil.signals import JunctionSignals, approach_colour, approach_of, next_change_ms
from hil.site import generate_site, with_cloud_link, with_fixed_ports
from hil.sumo import SignalProgram, SumoSim
from vicoop import codec_cloud
from vicoop.cloudmodel import SignalColour, SignalState
from vicoop.model import NS_PER_S

pytest.importorskip("libsumo")

G, A, R = SignalColour.GREEN, SignalColour.AMBER, SignalColour.RED


def test_sumo_link_characters_and_the_most_permissive_colour() -> None:
    assert approach_colour("rGy", [0]) is R
    assert approach_colour("rGy", [0, 2]) is A
    assert approach_colour("rGy", [0, 1, 2]) is G
    assert approach_colour("us", [0, 1]) is SignalColour.RED_AMBER
    assert approach_colour("sO", [0]) is R and approach_colour("oO", [0, 1]) is SignalColour.DARK
    # Traffic heading south comes from the north; heading east, from the west.
    assert approach_of((0.0, -1.0)) == "north" and approach_of((1.0, 0.05)) == "west"


def test_the_next_change_walks_the_phases() -> None:
    phases = ((30.0, "Gr"), (3.0, "yr"), (30.0, "rG"), (3.0, "ry"))
    now = SignalProgram("Gr", next_switch_s=110.0, phases=phases, phase=0)
    assert next_change_ms(now, [0]) == 110_000  # green until amber
    assert next_change_ms(now, [1]) == 113_000  # red through the amber, until green
    assert next_change_ms(SignalProgram("GG", 5.0, ((10.0, "GG"),), 0), [0]) is None
    assert next_change_ms(SignalProgram("Gr", 5.0, (), 0), [0]) is None


def test_the_bundled_crossings_lights_by_approach() -> None:
    site = generate_site(Path(BUNDLED) / "crossing.sumocfg")
    (entry,) = site.rsus
    assert entry.rsu.cloud.signals.source == "controller"
    assert [i.intersection_id for i in entry.rsu.cloud.intersections] == ["B1"]
    with SumoSim(Path(BUNDLED) / "crossing.sumocfg") as sumo:
        sumo.step()
        to_enu = NetToEnu.fit(sumo.to_lonlat, entry.rsu.origin.to_model(), entry.junction_xy_m)
        signals = JunctionSignals.build("B1", sumo.signal_links("B1"), to_enu)
        # B2 lies north of B1: its lanes into B1 are the north approach.
        assert {a for tls, _, a in signals.links if tls == "B1"} == {
            "north",
            "east",
            "south",
            "west",
        }
        state = signals.state(
            {"B1": sumo.signal_program("B1")}, sumo.time_s, 10 * NS_PER_S, "rsu-1"
        )
    colours = {g.approach: g.colour for g in state.groups}
    assert colours == {"north": G, "south": G, "east": R, "west": R}  # the program's first phase
    # North-south turns amber 42 s into the run, east-west green 3 s later.
    changes = {g.approach: g.next_change_ns for g in state.groups}
    step_ns = NS_PER_S // 20
    assert changes["north"] == 10 * NS_PER_S + 42 * NS_PER_S - step_ns
    assert changes["east"] == 10 * NS_PER_S + 45 * NS_PER_S - step_ns


def test_a_junction_without_a_traffic_light_takes_no_signal_states(tmp_path: Path) -> None:
    site = generate_site(Path(BUNDLED) / "crossing.sumocfg", ["A1"], site_path=tmp_path / "s.yaml")
    assert site.rsus[0].rsu.cloud.signals.source == "none"
    with SumoSim(Path(BUNDLED) / "crossing.sumocfg", net_only=True) as sumo:
        assert sumo.signal_links("A1") == []
    # Fixed ports for an RSU on another box: the signal input gets one only where it listens.
    bundled = with_fixed_ports(generate_site(Path(BUNDLED) / "crossing.sumocfg"), 41000)
    rsu = bundled.rsus[0].rsu
    assert rsu.cloud.signals.port == 41008 and rsu.cloud.signals.host == "0.0.0.0"
    assert with_fixed_ports(site, 41000).rsus[0].rsu.cloud.signals.port == 0


@pytest.mark.slow
async def test_the_rsu_publishes_sumos_signal_colours_in_lock_step(tmp_path: Path) -> None:
    sumocfg, site, _ = resolve_scenario(BUNDLED, tmp_path)
    published: list[SignalState] = []
    subscribed = asyncio.Event()
    async with EmbeddedBroker() as broker:

        async def listen() -> None:
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.subscribe("vicoop/v1/rsu/+/signal")
                subscribed.set()
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    published.append(codec_cloud.decode_signal(message.payload))

        listener = asyncio.create_task(listen())
        try:
            await asyncio.wait_for(subscribed.wait(), 30)
            # 80 s in, north-south is red; it turns green at 90 s (east-west amber at 87 s).
            rig = Rig(
                RigOptions(
                    sumocfg=sumocfg,
                    site=with_cloud_link(site, broker.url, tmp_path, status_interval_s=1.0),
                    duration_s=15.0,
                    clients=1,
                    rsu_mode="inprocess",
                    warmup_s=80.0,
                    workdir=tmp_path,
                )
            )
            result = await rig.run()
            (run,) = rig.rsus
            assert result.rsus["crossing-B1"].signal_states_sent == 300  # one a step
            truth = run.signal_changes  # SUMO's state at each change, as the rig read it

            def north(states: list[SignalState]) -> list[SignalColour]:
                out: list[SignalColour] = []
                for s in states:
                    c = {g.approach: g.colour for g in s.groups}.get("north")
                    if c is not None and (not out or out[-1] is not c):
                        out.append(c)
                return out

            assert north(truth) == [R, G]
            for _ in range(600):  # a hang guard: the last change on its way through the broker
                if north(published)[-1:] == [G]:
                    break
                await asyncio.sleep(0.05)
            assert north(published) == [R, G]
            east = [
                c for s in published for g in s.groups if g.approach == "east" for c in [g.colour]
            ]
            assert {G, A, R} <= set(east)
            for state in published:
                assert state.rsu_id == "crossing-B1" and state.intersection_id == "B1"
                if not state.groups:
                    continue  # before the first controller state: no colours at all
                at = [t for t in truth if t.valid_at_ns <= state.valid_at_ns][-1]
                assert state.groups == at.groups, state.valid_at_ns
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
