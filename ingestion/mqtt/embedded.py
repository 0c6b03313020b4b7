"""An MQTT broker inside this process, for the demo on a machine with no broker installed.

`EmbeddedBroker` runs amqtt (a pure-Python, asyncio MQTT 3.1.1 broker) on its own event loop in
a background thread, listening on 127.0.0.1 only, anonymous, sessions in memory. It is not the
production broker — that is Mosquitto with `deploy/mosquitto/` (persistence, passwords, ACLs,
TLS) — but it speaks the same protocol to the same clients, so the demo's readings take the real
path: gateway messages at QoS 1 → broker → `IngestService` → landing zone. MQTT 3.1.1 only: the
ingest service connects to it with `protocol="3.1.1"`.

`find_broker` decides what the demo uses: a broker reachable at the configured address, or
an embedded one started on a free port when there is none.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass

from ingestion.mqtt.broker import free_port

log = logging.getLogger("wattprint.embedded_broker")


class EmbeddedBroker:
    """amqtt on 127.0.0.1:`port` (0: a free port), in a daemon thread. Use as a context manager
    or call `start()` / `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        self._thread = threading.Thread(target=self._serve, name="embedded-mqtt", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the embedded MQTT broker did not start in {timeout} s")
        if self._error is not None:
            raise RuntimeError(
                f"the embedded MQTT broker could not start on {self.host}:{self.port}: "
                f"{self._error}"
            ) from self._error
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_broker())
        except BaseException as error:  # noqa: BLE001 - reported by start()
            self._error = error
            self._started.set()
            loop.close()
            return
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _start_broker(self) -> None:
        from amqtt.broker import Broker

        # amqtt logs every connection and packet at INFO; the demo prints its own summary.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Only what the demo needs: anonymous clients on localhost. No $SYS topics, no
            # packet logging.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {
                "allow_anonymous": True
            }},
        }  # fmt: skip
        self._broker = Broker(config)
        await self._broker.start()

    def stop(self, timeout: float = 15.0) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or self._thread is None:
            return
        if broker is not None and loop.is_running():
            done = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                done.result(timeout)
            except Exception as error:  # noqa: BLE001 - stopping anyway
                log.warning("the embedded MQTT broker did not shut down cleanly: %s", error)
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class BrokerChoice:
    host: str
    port: int
    protocol: str  # "5" or "3.1.1", for IngestConfig.protocol
    description: str  # one phrase for the demo's output
    embedded: EmbeddedBroker | None = None
    reason: str | None = None  # why an embedded broker, when it is one

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_broker(host: str, port: int, embedded: bool = False) -> BrokerChoice:
    """The broker at host:port when one answers there (and `embedded` is False), else an
    embedded broker started on a free local port."""
    if not embedded and reachable(host, port):
        return BrokerChoice(host, port, "5", f"the MQTT broker at {host}:{port}")
    reason = "asked for" if embedded else f"no MQTT broker answered at {host}:{port}"
    return embedded_choice(reason)


def embedded_choice(reason: str) -> BrokerChoice:
    """An embedded broker started now on a free local port."""
    broker = EmbeddedBroker().start()
    return BrokerChoice(
        broker.host,
        broker.port,
        "3.1.1",
        f"an embedded amqtt broker on {broker.host}:{broker.port}",
        broker,
        reason,
    )
