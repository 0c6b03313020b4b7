"""The data dictionary and its completeness rules, on small dbt manifests made here."""

from __future__ import annotations

import csv
import io

import pytest

from orchestration.publishing.dictionary import (
    problems,
    public_models,
    render_csv,
    render_markdown,
    table_docs,
)


def _column(name, data_type, description="", unit=None):
    column = {"name": name, "data_type": data_type, "description": description, "meta": {}}
    if unit:
        column["config"] = {"meta": {"unit": unit}}
    return column


def _manifest(columns, description="Energy per day.", schema="marts", enforced=True):
    model = "model.wattprint.fct_energy"
    return {
        "nodes": {
            model: {
                "resource_type": "model",
                "name": "fct_energy",
                "schema": schema,
                "description": description,
                "config": {"materialized": "table", "contract": {"enforced": enforced}},
                "columns": {c["name"]: c for c in columns},
            },
            "model.wattprint.stg_x": {
                "resource_type": "model",
                "name": "stg_x",
                "schema": "staging",  # internal: never in the dictionary
                "description": "",
                "config": {},
                "columns": {},
            },
            "test.wattprint.unique_fct_energy_day": {
                "resource_type": "test",
                "attached_node": model,
                "column_name": "day",
                "test_metadata": {"name": "unique", "kwargs": {"column_name": "day"}},
            },
        },
        "exposures": {
            "exposure.wattprint.questions": {
                "name": "plant_manager_questions",
                "depends_on": {"nodes": [model]},
            }
        },
    }


COMPLETE = [
    _column("day", "date", "Site-local day."),
    _column("kwh", "decimal(38,12)", "Energy of the day.", unit="kWh"),
    _column("start_utc", "timestamp", "Start of the day in UTC."),
    _column("site_id", "varchar", "Site."),
]


def test_a_complete_model_has_no_problem_and_carries_grain_units_and_users():
    [model] = public_models(_manifest(COMPLETE))
    assert model.relation == "marts.fct_energy"
    assert model.grain == ("day",)
    assert model.exposures == ("plant_manager_questions",)
    assert [c.unit for c in model.columns] == ["", "kWh", "", ""]
    assert problems([model]) == []


@pytest.mark.parametrize(
    ("columns", "description", "enforced", "expected"),
    [
        (
            [*COMPLETE[:3], _column("site_id", "varchar", "")],
            "Energy per day.",
            True,
            "marts.fct_energy.site_id: no description",
        ),
        (
            [COMPLETE[0], _column("kwh", "decimal(38,12)", "Energy."), *COMPLETE[2:]],
            "Energy per day.",
            True,
            "marts.fct_energy.kwh: a decimal(38,12) quantity without a unit",
        ),
        (
            [*COMPLETE[:2], _column("start_utc", "timestamp", "Start of the day."), COMPLETE[3]],
            "Energy per day.",
            True,
            "marts.fct_energy.start_utc: a timestamp that does not say UTC or local",
        ),
        (COMPLETE, "", True, "marts.fct_energy: the model has no description"),
        (COMPLETE, "Energy per day.", False, "marts.fct_energy: its contract is not enforced"),
    ],
)
def test_each_gap_is_named(columns, description, enforced, expected):
    models = public_models(_manifest(columns, description, enforced=enforced))
    found = problems(models)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_built_column_missing_from_the_yaml_is_a_problem():
    catalog = {
        "nodes": {
            "model.wattprint.fct_energy": {
                "columns": {
                    name.upper(): {"index": i}
                    for i, name in enumerate(["day", "kwh", "start_utc", "site_id", "extra"])
                }
            }
        }
    }
    found = problems(public_models(_manifest(COMPLETE), catalog))
    assert found == ["marts.fct_energy.extra: built but not in the YAML"]


def test_markdown_csv_and_snapshot_comments_carry_units():
    models = public_models(_manifest(COMPLETE))
    markdown = render_markdown(models, "/srv/published/wattprint.duckdb")
    assert "## marts.fct_energy" in markdown
    assert "| `kwh` | decimal(38,12) | kWh | Energy of the day. |" in markdown
    rows = list(csv.DictReader(io.StringIO(render_csv(models))))
    assert rows[1] == {
        "schema": "marts",
        "table": "fct_energy",
        "column": "kwh",
        "data_type": "decimal(38,12)",
        "unit": "kWh",
        "description": "Energy of the day.",
    }
    docs = table_docs(models)[("marts", "fct_energy")]
    assert docs.columns["kwh"] == "Energy of the day. [kWh]"
    assert docs.columns["day"] == "Site-local day."
