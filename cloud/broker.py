"""An MQTT broker in this process (amqtt), for ``vicoop demo`` and machines without Mosquitto.

Real deployments pass ``--mqtt-url`` and use Mosquitto, EMQX or HiveMQ instead.
"""

from __future__ import annotations

import logging
import socket

from amqtt.broker import Broker

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """An amqtt broker on ``host:port`` (a free port when 0); ``url`` is valid once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        # amqtt and its state-machine library log every state change at INFO, which would drown
        # the service's own log; their warnings and errors still show.
        for chatty in ("amqtt", "transitions"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await self._broker.start()
        log.info("embedded MQTT broker on %s", self.url)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
