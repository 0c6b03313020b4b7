"""The one place that knows the environment.

Every other module takes paths and names from `load_settings()`; nothing else reads os.environ.

- WATTPRINT_HOME (default ./.wattprint): everything Wattprint writes lives under it.
- WATTPRINT_TIMEZONE (default Asia/Taipei): the time zone of the daily partitions (the site's).
- WATTPRINT_PARTITION_START (default 2025-01-01): the first daily partition (site-local date).
- DAGSTER_HOME (default $WATTPRINT_HOME/dagster): the Dagster instance (runs, events, logs).
- WATTPRINT_ALERT_MQTT ('host[:port][/topic prefix]'), with WATTPRINT_ALERT_MQTT_USER and
  WATTPRINT_ALERT_MQTT_PASSWORD: push every new alert to <prefix>/<site>/alerts/<rule>.
- WATTPRINT_ALERT_WEBHOOK (a URL): POST every new alert as JSON.

A home may carry `wattprint.json` with "timezone" and "partition_start": a home made for one
plant (the steel case's Asia/Seoul days) then opens the same way from every command and from
`make ui`. Environment variables win over the file.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt beside this interpreter first: `.venv/bin/wattprint` and `.venv/bin/pytest` run without
# the venv on PATH.
_VENV_BIN = Path(sys.executable).parent
_VENV_DBT = _VENV_BIN / "dbt"
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else (shutil.which("dbt") or "dbt")


@dataclass(frozen=True)
class Settings:
    home: Path
    timezone: str
    partition_start: str
    alert_mqtt: str | None = None
    alert_mqtt_user: str | None = None
    alert_mqtt_password: str | None = None
    alert_webhook: str | None = None

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def ground_truth_dir(self) -> Path:
        return self.home / "ground_truth"


def load_settings() -> Settings:
    """Read the environment once and export what child processes need.

    dbt runs as a subprocess whose profile and sources read WATTPRINT_HOME, and Dagster reads
    DAGSTER_HOME, so both are exported as absolute paths: a relative default would otherwise
    resolve differently in the dbt subprocess than in this one.
    """
    home = Path(os.environ.get("WATTPRINT_HOME", ".wattprint")).expanduser().resolve()
    saved = _home_settings(home)
    settings = Settings(
        home=home,
        timezone=os.environ.get("WATTPRINT_TIMEZONE", saved.get("timezone", "Asia/Taipei")),
        partition_start=os.environ.get(
            "WATTPRINT_PARTITION_START", saved.get("partition_start", "2025-01-01")
        ),
        alert_mqtt=os.environ.get("WATTPRINT_ALERT_MQTT") or None,
        alert_mqtt_user=os.environ.get("WATTPRINT_ALERT_MQTT_USER") or None,
        alert_mqtt_password=os.environ.get("WATTPRINT_ALERT_MQTT_PASSWORD") or None,
        alert_webhook=os.environ.get("WATTPRINT_ALERT_WEBHOOK") or None,
    )
    os.environ["WATTPRINT_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    # dagster-dbt's project preparation calls plain `dbt`; make it the one beside this Python.
    if _VENV_DBT.exists() and str(_VENV_BIN) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = str(_VENV_BIN) + os.pathsep + os.environ.get("PATH", "")
    return settings


HOME_SETTINGS_FILE = "wattprint.json"


def _home_settings(home: Path) -> dict[str, str]:
    path = home / HOME_SETTINGS_FILE
    if not path.exists():
        return {}
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    return {k: str(v) for k, v in saved.items() if k in ("timezone", "partition_start")}


def save_home_settings(settings: Settings) -> None:
    """Remember the home's time zone and first partition for later commands and the UI."""
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / HOME_SETTINGS_FILE).write_text(
        json.dumps(
            {"timezone": settings.timezone, "partition_start": settings.partition_start}, indent=2
        )
    )


def configure(
    home: Path | str | None = None,
    timezone: str | None = None,
    partition_start: str | None = None,
) -> Settings:
    """Point this process at a Wattprint home before the Dagster definitions are imported
    (the command line's --home and the tests use it)."""
    if home is not None:
        os.environ["WATTPRINT_HOME"] = str(Path(home).expanduser().resolve())
        os.environ["DAGSTER_HOME"] = str(Path(os.environ["WATTPRINT_HOME"]) / "dagster")
    if timezone is not None:
        os.environ["WATTPRINT_TIMEZONE"] = timezone
    if partition_start is not None:
        os.environ["WATTPRINT_PARTITION_START"] = partition_start
    return load_settings()
