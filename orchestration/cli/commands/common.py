"""What the subcommands share: settings from --home, running the pipeline, printing outcomes."""

from __future__ import annotations

import argparse
from contextlib import redirect_stderr, redirect_stdout
from datetime import date

from orchestration.settings import Settings, configure

# What a failed check means when the reason is expected, so a newcomer is not alarmed.
CHECK_NOTES = {
    "readings_fresh": " (expected for simulated or imported history: the newest reading is "
    "more than an hour old)",
    "energy_interval_complete": " (some equipment-days lack intervals: see the check's "
    "metadata in the Dagster UI)",
    "rule_clock": " (readings received over a day after their timestamp, stamped in the future "
    "or re-sent with another value: see quality.anomalies; the demo's last day, replayed over "
    "MQTT today, arrives months late)",
}


class UserError(RuntimeError):
    """A problem the user can fix; the message says how."""


def settings_from(args: argparse.Namespace, **overrides: str) -> Settings:
    return configure(home=args.home, **overrides)


def run_days(settings: Settings, first: date, last: date) -> None:
    """One Dagster run for the days; dbt's progress goes to a log file, not the terminal."""
    from orchestration.pipeline import run_pipeline

    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"run-{first}-{last}.log"
    with open(log_path, "w") as log, redirect_stdout(log), redirect_stderr(log):
        outcome = run_pipeline(settings, first, last)
    print(f"      Dagster run {outcome.run_id} for {first} … {last} (site-local days)")
    print(f"      dbt and Dagster output: {log_path}")
    for check in outcome.failed_checks:
        print(f"      check not passed: {check}{CHECK_NOTES.get(check.split(':')[-1], '')}")
    if not outcome.success:
        raise UserError(
            f"the pipeline run failed: {outcome.error or 'see the run in the Dagster UI'}"
        )


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from error
