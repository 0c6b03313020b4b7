"""The five plant-manager questions: one SQL source, printed verbatim in the README, and the
dbt exposures naming exactly the marts that SQL (and the demo's summary) reads.

The answers themselves are checked against the marts in
tests/integration/test_warehouse_publishing.py (through SQLAlchemy, on a simulated plant)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from orchestration.publishing.questions import QUESTIONS_FILE, questions

REPO = Path(__file__).resolve().parents[2]
MARTS_TABLE = re.compile(r"\bmarts\.(\w+)")


def _exposures() -> dict[str, set[str]]:
    found = {}
    for path in (REPO / "dbt_project" / "models").rglob("*.yml"):
        for exposure in (yaml.safe_load(path.read_text()) or {}).get("exposures", []):
            found[exposure["name"]] = {
                re.fullmatch(r"ref\('(\w+)'\)", ref).group(1) for ref in exposure["depends_on"]
            }
    return found


def test_the_five_questions_in_order():
    assert [(q.name, q.title) for q in questions().values()] == [
        ("todays_emissions_by_line", "Today's emissions by line"),
        ("top_hotspots_this_week", "Top 5 hotspots this week"),
        ("intensity_per_sku_this_month", "Carbon intensity per SKU this month"),
        ("reconciliation_residual_per_bill", "Reconciliation residual per bill"),
        ("progress_against_target", "Progress against target"),
    ]


def test_the_readme_prints_each_query_exactly_as_tested():
    readme = (REPO / "README.md").read_text()
    for question in questions().values():
        assert f"-- {question.title}\n{question.sql}\n" in readme, question.name


def test_the_questions_exposure_depends_on_exactly_the_marts_they_read():
    read = set(MARTS_TABLE.findall(QUESTIONS_FILE.read_text()))
    assert read == _exposures()["plant_manager_questions"]


def test_the_demo_and_validation_exposures_cover_what_their_code_reads():
    exposures = _exposures()
    summary = REPO / "orchestration" / "cli" / "summary.py"
    validate = REPO / "orchestration" / "cli" / "validate.py"
    assert set(MARTS_TABLE.findall(summary.read_text())) <= exposures["demo_summary"]
    assert set(MARTS_TABLE.findall(validate.read_text())) <= exposures["ground_truth_validation"]
