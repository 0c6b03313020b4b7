"""The shipped service definitions (deploy/systemd) and their health check, for real.

- `systemd-analyze verify` accepts every unit once rendered for this checkout (it fails on a
  typo'd directive value or a command that does not exist), and every `wattprint` command line
  in them parses;
- the Dagster UI is bound to 127.0.0.1 only (it has no authentication of its own);
- `wattprint health` passes against a real dagster-webserver, dagster-daemon and Mosquitto
  started the way the units start them, and fails — naming the reason — when the broker
  refuses the credentials or the webserver is gone.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ingestion.mqtt.broker import MosquittoBroker, free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
INSTALL_ROOT = "/opt/wattprint"
BIN = Path(sys.executable).parent


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path)
    return parser


def _exec_lines(path: Path) -> list[list[str]]:
    lines = [
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith(("ExecStart=", "ExecStartPost=", "ExecStartPre="))
    ]
    return [shlex.split(line) for line in lines]


def test_systemd_accepts_every_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    env_file = tmp_path / "wattprint.env"
    shutil.copy(UNITS / "wattprint.env.example", env_file)
    rendered = []
    for unit in sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.timer")):
        text = unit.read_text().replace("/etc/wattprint/wattprint.env", str(env_file))
        text = text.replace(f"{INSTALL_ROOT}/.venv/bin/", f"{BIN}/").replace(
            INSTALL_ROOT, str(REPO)
        )
        (tmp_path / unit.name).write_text(text)
        rendered.append(str(tmp_path / unit.name))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *rendered], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_every_wattprint_command_line_in_the_units_parses():
    from ingestion.mqtt.__main__ import parse_args as ingest_args
    from orchestration.cli import build_parser

    parser = build_parser()
    seen = 0
    for unit in UNITS.glob("*.service"):
        for argv in _exec_lines(unit):
            if not argv[0].endswith("/wattprint"):
                continue
            args, extra = parser.parse_known_args(argv[1:])
            if args.command == "ingest":
                ingest_args([*extra, *args.service_args])
            else:
                assert not extra, (unit.name, extra)
            seen += 1
    assert seen >= 4  # ingest, and the health checks of webserver, daemon and the timer


def test_the_ui_listens_on_localhost_only():
    [argv] = [
        a for a in _exec_lines(UNITS / "dagster-webserver.service") if "dagster-webserver" in a[0]
    ]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    service = _unit(UNITS / "dagster-webserver.service")["Service"]
    assert service["User"] == "wattprint"


def test_every_service_restarts_and_reads_the_environment_file():
    for name in ("dagster-webserver", "dagster-daemon", "wattprint-ingest"):
        service = _unit(UNITS / f"{name}.service")["Service"]
        assert service["EnvironmentFile"] == "/etc/wattprint/wattprint.env", name
        assert service["Restart"] in ("on-failure", "always"), name


# -- the services, running ----------------------------------------------------------------------
TINY_DEFINITIONS = """
import dagster as dg

@dg.asset
def heartbeat_probe():
    return 1

defs = dg.Definitions(assets=[heartbeat_probe])
"""


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[dict]:
    """dagster-webserver and dagster-daemon as the units start them (on a code location small
    enough to start in seconds), an instance in a temporary DAGSTER_HOME, and Mosquitto with
    the shipped configuration."""
    root = tmp_path_factory.mktemp("services")
    dagster_home = root / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # Create the instance's storage once, before the two services start: both would otherwise
    # create the SQLite schema at the same moment, and on a busy machine the race stamps two
    # alembic heads ("Version table 'alembic_version' has more than one head present"). A
    # deployment does the same with `dagster instance migrate` before starting the units.
    dg.DagsterInstance.from_config(str(dagster_home)).dispose()
    (root / "definitions.py").write_text(TINY_DEFINITIONS)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "WATTPRINT_HOME": str(root)}
    port = free_port()
    processes = [
        subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "-f",
                str(root / "definitions.py"),
            ],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
        subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-f", str(root / "definitions.py")],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]
    broker = MosquittoBroker(root / "mosquitto").start()
    try:
        yield {
            "env": env,
            "url": f"http://127.0.0.1:{port}",
            "broker": broker,
            "webserver": processes[0],
        }
    finally:
        broker.stop()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _health(services: dict, *args: str, password: str) -> subprocess.CompletedProcess:
    broker = services["broker"]
    env = {**services["env"], "WATTPRINT_MQTT_PASSWORD": password}
    return subprocess.run(
        [
            str(BIN / "wattprint"),
            "health",
            "--webserver-url",
            services["url"],
            "--mqtt-host",
            broker.host,
            "--mqtt-port",
            str(broker.port),
            "--mqtt-username",
            broker.ingestor_user,
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_health_passes_on_running_services_and_names_what_fails(services):
    broker = services["broker"]
    good = _health(
        services,
        "--only",
        "webserver,daemon,broker",
        "--wait",
        "180",
        password=broker.ingestor_password,
    )
    print(good.stdout)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ok    webserver" in good.stdout and "dagster-webserver 1.13" in good.stdout
    assert "ok    daemon" in good.stdout and "SENSOR" in good.stdout
    assert f"ok    broker       127.0.0.1:{broker.port} accepted wattprint-ingest" in good.stdout

    # The failures, through the same checks in this process (a CLI start costs seconds).
    from orchestration import health

    refused = health.broker(broker.host, broker.port, broker.ingestor_user, "wrong")
    assert not refused.ok and "refused" in refused.detail, refused

    os.killpg(services["webserver"].pid, signal.SIGTERM)
    services["webserver"].wait(timeout=30)
    gone = health.webserver(services["url"], timeout=2)
    assert not gone.ok and "refused" in gone.detail.lower(), gone
