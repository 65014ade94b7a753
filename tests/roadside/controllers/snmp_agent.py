"""A simulated NTCIP 1202 controller behind a real SNMP v1/v2c agent on a loopback UDP port.

Why an agent of our own on pysnmp's message layer (``pysnmp.proto.api``, BER by pyasn1) rather
than pysnmp's full command responder or Debian's ``snmpd`` with a ``pass_persist`` script: the
tests need to serve *wrong* replies on purpose (an Integer where the MIB says so is easy; an
OctetString, an out-of-range value, a ``noSuchInstance``, an error status, silence), and to
move the controller's time from the test. The message layer lets every reply be written
exactly; ``snmpd`` would need a root-owned daemon and a subprocess per test, and its ``pass``
protocol can't send a wrong ASN.1 type for an OID. The bytes on the wire are real SNMP, decoded
by the adapter's real client.

The controller is a two-ring-less fixed-time cycle over phases 2 and 4 (vehicle) on phase
status group 1, on a timeline the test moves (``controller.now_s``)::

    phase 2: green 0-10 s, yellow 10-13 s, red 13-30 s (red clearance 13-15 s)
    phase 4: red 0-15 s, green 15-25 s, yellow 25-28 s, red 28-30 s
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902

ASC = (1, 3, 6, 1, 4, 1, 1206, 4, 2, 1)
PHASE_ENTRY = (*ASC, 1, 2, 1)
STATUS_ENTRY = (*ASC, 1, 4, 1)
PHASE_CONTROL_ENTRY = (*ASC, 1, 5, 1)  # phaseControlGroupTable: SET (and GET) columns 2..7
UNIT_CONTROL_STATUS = (*ASC, 3, 5, 0)
UNIT_FLASH_STATUS = (*ASC, 3, 6, 0)

# (start_s, end_s, colour) per phase; cycle 30 s.
CYCLE_S = 30.0
TIMELINE: dict[int, tuple[tuple[float, float, str], ...]] = {
    2: ((0.0, 10.0, "green"), (10.0, 13.0, "yellow"), (13.0, 30.0, "red")),
    4: ((0.0, 15.0, "red"), (15.0, 25.0, "green"), (25.0, 28.0, "yellow"), (28.0, 30.0, "red")),
}
# phaseTable columns: walk .2 (s), ped clear .3 (s), min green .4 (s), passage .5 (0.1 s),
# maximum1 .6 (s), maximum2 .7 (s), yellow change .8 (0.1 s), red clear .9 (0.1 s).
TIMING: dict[int, dict[int, int]] = {
    2: {2: 7, 3: 12, 4: 10, 5: 30, 6: 10, 7: 20, 8: 30, 9: 20},
    4: {2: 5, 3: 10, 4: 8, 5: 25, 6: 10, 7: 15, 8: 30, 9: 20},
}


@dataclass
class SimulatedController:
    """The controller's state at ``now_s`` (seconds into its life, moved by the test) and what
    it answers per OID; ``overrides`` replace a value (any pyasn1 object, for wrong replies)."""

    now_s: float = 0.0
    control_status: int = 6  # timebase
    flash_status: int = 2  # notFlash
    overrides: dict[tuple[int, ...], Any] = field(default_factory=dict)
    # phaseControlGroupTable as last SET: (column, group) -> bit mask (omit 2, ped omit 3,
    # hold 4, force-off 5, vehicle call 6, ped call 7); every SET is also kept in ``sets``.
    control: dict[tuple[int, int], int] = field(default_factory=dict)
    sets: list[dict[tuple[int, int], int]] = field(default_factory=list)

    def writable(self, oid: tuple[int, ...]) -> bool:
        """Whether ``oid`` is a phase control object (group 1..32) a SET may write."""
        return (
            oid[: len(PHASE_CONTROL_ENTRY)] == PHASE_CONTROL_ENTRY
            and len(oid) == len(PHASE_CONTROL_ENTRY) + 2
            and 2 <= oid[-2] <= 7
            and 1 <= oid[-1] <= 32
        )

    def colour(self, phase: int) -> str | None:
        t = self.now_s % CYCLE_S
        for start, end, colour in TIMELINE.get(phase, ()):
            if start <= t < end:
                return colour
        return None

    def mask(self, colour: str) -> int:
        return sum(1 << (p - 1) for p in TIMELINE if self.colour(p) == colour)

    def value(self, oid: tuple[int, ...]) -> Any:
        """The value of ``oid``, or None if this controller has no such object."""
        if oid in self.overrides:
            return self.overrides[oid]
        if self.writable(oid):
            return rfc1902.Integer32(self.control.get((oid[-2], oid[-1]), 0))
        if oid == UNIT_CONTROL_STATUS:
            return rfc1902.Integer32(self.control_status)
        if oid == UNIT_FLASH_STATUS:
            return rfc1902.Integer32(self.flash_status)
        if oid[: len(STATUS_ENTRY)] == STATUS_ENTRY and len(oid) == len(STATUS_ENTRY) + 2:
            column, group = oid[-2:]
            if group != 1:
                return None
            masks = {2: self.mask("red"), 3: self.mask("yellow"), 4: self.mask("green")}
            masks |= {5: self.mask("red") | self.mask("yellow"), 6: 0, 7: 0}
            return rfc1902.Integer32(masks[column]) if column in masks else None
        if oid[: len(PHASE_ENTRY)] == PHASE_ENTRY and len(oid) == len(PHASE_ENTRY) + 2:
            column, phase = oid[-2:]
            v = TIMING.get(phase, {}).get(column)
            return None if v is None else rfc1902.Integer32(v)
        return None


class SnmpAgent:
    """Answers GET and SET (phase control) requests (v1 and v2c, community ``community``) from ``controller`` on
    127.0.0.1 (a free port: ``port`` after ``start``); ``silent`` drops every request;
    ``error_status`` answers every request with that SNMP error (e.g. 5, genErr)."""

    def __init__(self, controller: SimulatedController, community: str = "public") -> None:
        self.controller = controller
        self.community = community
        self.silent = False
        self.error_status = 0
        self.requests = 0
        self.hook: Callable[[], None] | None = None
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        agent = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                reply = agent.respond(data)
                if reply is not None and agent._transport is not None:
                    agent._transport.sendto(reply, addr)

        self._transport, _ = await loop.create_datagram_endpoint(
            _Protocol, local_addr=("127.0.0.1", 0)
        )

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def respond(self, data: bytes) -> bytes | None:
        """The reply datagram to the request ``data`` (None: no reply)."""
        self.requests += 1
        if self.silent:
            return None
        version = int(api.decodeMessageVersion(data))
        p_mod = api.PROTOCOL_MODULES[version]
        request, _ = decoder.decode(data, asn1Spec=p_mod.Message())
        if str(p_mod.apiMessage.get_community(request)) != self.community:
            return None
        response = p_mod.apiMessage.get_response(request)
        request_pdu = p_mod.apiMessage.get_pdu(request)
        response_pdu = p_mod.apiMessage.get_pdu(response)
        if request_pdu.isSameTypeWith(p_mod.SetRequestPDU()):
            return self._set(p_mod, request_pdu, response, response_pdu)
        if not request_pdu.isSameTypeWith(p_mod.GetRequestPDU()):
            p_mod.apiPDU.set_error_status(response_pdu, 5)
            return bytes(encoder.encode(response))
        binds = []
        missing = 0
        for i, (oid, _) in enumerate(p_mod.apiPDU.get_varbinds(request_pdu), start=1):
            value = self.controller.value(tuple(oid))
            if value is None:
                missing = missing or i
                value = p_mod.Null("")
            binds.append((oid, value))
        p_mod.apiPDU.set_varbinds(response_pdu, binds)
        if self.error_status:
            p_mod.apiPDU.set_error_status(response_pdu, self.error_status)
            p_mod.apiPDU.set_error_index(response_pdu, 1)
        elif missing:
            p_mod.apiPDU.set_error_status(response_pdu, 2)  # noSuchName (v1 style)
            p_mod.apiPDU.set_error_index(response_pdu, missing)
        return bytes(encoder.encode(response))

    def _set(self, p_mod: Any, request_pdu: Any, response: Any, response_pdu: Any) -> bytes:
        """A SET: all of it taken (values echoed) or none (the first bad varbind's error:
        noSuchName 2 for an object that is not writable, badValue 3 for a value that is not an
        INTEGER 0..255)."""
        binds = list(p_mod.apiPDU.get_varbinds(request_pdu))
        taken: dict[tuple[int, int], int] = {}
        error = index = 0
        for i, (oid, value) in enumerate(binds, start=1):
            oid = tuple(oid)
            if not self.controller.writable(oid):
                error, index = 2, i
                break
            if not isinstance(value, rfc1902.Integer32 | p_mod.Integer) or not (
                0 <= int(value) <= 255
            ):
                error, index = 3, i
                break
            taken[(oid[-2], oid[-1])] = int(value)
        p_mod.apiPDU.set_varbinds(response_pdu, binds)
        if self.error_status or error:
            p_mod.apiPDU.set_error_status(response_pdu, self.error_status or error)
            p_mod.apiPDU.set_error_index(response_pdu, index or 1)
        else:
            self.controller.control |= taken
            self.controller.sets.append(taken)
        return bytes(encoder.encode(response))
