"""The processes of a live deployment, started for the latency benchmark and stopped after it.

- the broker: Mosquitto with the shipped config (`ingestion.mqtt.broker.MosquittoBroker`: users,
  passwords and ACLs as in production), or — when no mosquitto binary is installed — the broker
  already listening on 127.0.0.1:1883, anonymously;
- the ingestion service: `python -m ingestion.mqtt`, its own process, as systemd runs it;
- Dagster: `dagster-daemon run` over the project's workspace, with the instance configuration
  we ship (`deploy/dagster/dagster.yaml`: one run at a time through the queued run coordinator,
  one process per run) except its PostgreSQL storage, replaced by SQLite under the home.

Every process is started in its own session and stopped through its own process group, so a
daemon's code server, run workers and dbt children go with it and nothing else is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingestion.mqtt.broker import INGESTOR_USER, MosquittoBroker, mosquitto_binary

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_INSTANCE = ROOT / "deploy" / "dagster" / "dagster.yaml"
GATEWAY_USER = "gw-bench"
PASSWORD_ENV = "WATTPRINT_BENCH_MQTT_PASSWORD"


@dataclass
class Broker:
    host: str
    port: int
    description: str
    ingest_user: str | None = None
    ingest_password: str | None = None
    gateway_user: str | None = None
    gateway_password: str | None = None
    _mosquitto: MosquittoBroker | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._mosquitto is not None:
            self._mosquitto.stop()


def start_broker(workdir: Path, site_id: str, choice: str = "auto") -> Broker:
    """`choice`: shipped (Mosquitto with our config), system (127.0.0.1:1883), or auto."""
    if choice in ("auto", "shipped"):
        try:
            mosquitto_binary()
        except FileNotFoundError:
            if choice == "shipped":
                raise
        else:
            broker = MosquittoBroker(workdir / "broker", gateways={GATEWAY_USER: site_id}).start()
            return Broker(
                broker.host,
                broker.port,
                f"Mosquitto with deploy/mosquitto/mosquitto.conf on {broker.host}:{broker.port}",
                *broker.credentials(INGESTOR_USER),
                *broker.credentials(GATEWAY_USER),
                _mosquitto=broker,
            )
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as error:
        raise RuntimeError(
            "no mosquitto binary to start a broker with the shipped config, and nothing "
            "listens on 127.0.0.1:1883"
        ) from error
    return Broker("127.0.0.1", 1883, "the broker already running on 127.0.0.1:1883 (anonymous)")


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM to the service's process group, SIGKILL after `timeout`."""
        if not self.running():
            return self.process.returncode
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            return self.process.wait(10)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, sig)


def _spawn(name: str, args: list[str], log: Path, env: dict[str, str]) -> Service:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Service(name, process, log)


def start_ingest(home: Path, broker: Broker, workdir: Path, env: dict[str, str]) -> Service:
    ready = workdir / "ingest.ready"
    ready.unlink(missing_ok=True)
    args = [
        sys.executable, "-m", "ingestion.mqtt", "--home", str(home),
        "--host", broker.host, "--port", str(broker.port),
        "--client-id", "wattprint-ingest-bench", "--ready-file", str(ready),
        "--stats-file", str(workdir / "ingest-stats.json"),
    ]  # fmt: skip
    env = dict(env)
    if broker.ingest_user:
        args += ["--username", broker.ingest_user, "--password-env", PASSWORD_ENV]
        env[PASSWORD_ENV] = broker.ingest_password or ""
    service = _spawn("ingest", args, workdir / "ingest.log", env)
    deadline = time.monotonic() + 120
    while not ready.exists():
        if not service.running() or time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(f"the ingest service did not subscribe; see {service.log}")
        time.sleep(0.2)
    return service


def instance_config() -> dict:
    """The shipped instance configuration, with SQLite (the default) instead of PostgreSQL."""
    config = yaml.safe_load(SHIPPED_INSTANCE.read_text())
    config.pop("storage", None)
    config["telemetry"] = {"enabled": False}
    return config


def start_daemon(dagster_home: Path, workdir: Path, env: dict[str, str]) -> Service:
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(), sort_keys=False))
    daemon = shutil.which("dagster-daemon", path=str(Path(sys.executable).parent)) or (
        "dagster-daemon"
    )
    return _spawn(
        "dagster-daemon",
        [daemon, "run", "-w", str(ROOT / "workspace.yaml")],
        workdir / "dagster-daemon.log",
        env,
    )
