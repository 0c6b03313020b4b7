"""`wattprint health`'s checks, each against the real thing it inspects: an HTTP server on
loopback, a Dagster instance's heartbeat storage, landed files, a published warehouse.
A real dagster-webserver, dagster-daemon and Mosquitto: tests/integration/test_deploy_services.py.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import health
from orchestration.publishing.snapshot import publish, published_path


class _Server:
    """An HTTP server on 127.0.0.1 answering GET /server_info with `body` (JSON) or 404."""

    def __init__(self, body: dict | None):
        payload = json.dumps(body).encode() if body is not None else None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/server_info" or payload is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webserver_answers_as_dagster():
    server = _Server({"dagster_webserver_version": "1.13.27", "dagster_version": "1.13.27"})
    try:
        result = health.webserver(server.url)
    finally:
        server.close()
    assert result.ok and "dagster-webserver 1.13.27" in result.detail


@pytest.mark.parametrize(
    ("body", "reason"),
    [(None, "Not Found"), ({"hello": "world"}, "not as dagster-webserver")],
)
def test_webserver_that_is_something_else_fails(body, reason):
    server = _Server(body)
    try:
        result = health.webserver(server.url)
    finally:
        server.close()
    assert not result.ok and reason in result.detail


def test_webserver_not_listening_fails():
    server = _Server({})
    url = server.url
    server.close()
    result = health.webserver(url, timeout=2)
    assert not result.ok and "refused" in result.detail.lower()


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance:
        yield instance


class _Borrowed:
    """Hand the test's instance to the check without letting it close the instance."""

    def __init__(self, instance):
        self.instance = instance

    def __call__(self):
        return self

    def __enter__(self):
        return self.instance

    def __exit__(self, *exc):
        return False


def _beat(instance, seconds_ago: float) -> list[str]:
    from dagster._daemon.types import DaemonHeartbeat

    required = instance.get_required_daemon_types()
    for daemon_type in required:
        instance.add_daemon_heartbeat(
            DaemonHeartbeat(time.time() - seconds_ago, daemon_type, None, None)
        )
    return required


def test_daemon_is_alive_only_while_every_required_daemon_beats(instance):
    # One instance for the three states: creating a Dagster instance costs seconds.
    assert "SENSOR (no heartbeat)" in health.daemon(_Borrowed(instance)).detail
    _beat(instance, seconds_ago=600)
    stale = health.daemon(_Borrowed(instance))
    assert not stale.ok and "SENSOR (last heartbeat 600 s ago)" in stale.detail
    required = _beat(instance, seconds_ago=5)
    alive = health.daemon(_Borrowed(instance))
    assert alive.ok, alive.detail
    assert f"{len(required)} daemons alive" in alive.detail


def _land(home: Path, minutes_ago: float, day: str = "2026-01-05") -> Path:
    folder = home / "landing" / "readings" / "site=S1" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"batch-{day}-{minutes_ago}.parquet"
    path.write_bytes(b"PAR1")
    stamp = time.time() - minutes_ago * 60
    os.utime(path, (stamp, stamp))
    return path


def test_ingest_is_judged_by_the_newest_landed_readings_file(tmp_path):
    assert not health.ingest(tmp_path, 30).ok  # nothing landed
    _land(tmp_path, minutes_ago=120, day="2026-01-05")
    stale = health.ingest(tmp_path, 30)
    assert not stale.ok and "120.0 min ago" in stale.detail
    _land(tmp_path, minutes_ago=3, day="2026-01-06")
    fresh = health.ingest(tmp_path, 30)
    assert fresh.ok and "3.0 min ago" in fresh.detail


def test_publication_is_judged_by_its_recorded_time(tmp_path):
    target = published_path(tmp_path)
    assert not health.publication(target, 120).ok  # nothing published
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.t as select 1 as x")
    publish(warehouse, target, run_id="abcdef123456", now=datetime.now(UTC) - timedelta(hours=3))
    old = health.publication(target, 120)
    assert not old.ok and "from run abcdef12" in old.detail
    publish(warehouse, target, run_id="fedcba654321")
    assert health.publication(target, 120).ok


def test_the_command_reports_each_check_and_exits_1_on_failure(tmp_path, capsys):
    from orchestration.cli import main

    _land(tmp_path, minutes_ago=1)
    code = main(["--home", str(tmp_path), "health", "--only", "ingest,publication"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("ok    ingest       newest readings file landed")
    assert out[1].startswith("FAIL  publication  nothing published at")


def test_an_unknown_check_is_a_sentence_not_a_traceback(tmp_path, capsys):
    from orchestration.cli import main

    assert main(["--home", str(tmp_path), "health", "--only", "webserver,dns"]) == 2
    assert "unknown check(s) dns; known: webserver, daemon, broker" in capsys.readouterr().err
