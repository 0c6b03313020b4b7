"""The step energy labels asset on a real warehouse: a 3-day simulated plant through the real
pipeline, then the energy_labels job's asset — its tables checked against SQL computed
independently from the marts."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
import pytest

from orchestration.settings import configure

pytestmark = pytest.mark.integration

START = date(2026, 1, 5)
DAYS = 3


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from orchestration.cli.commands.simulate import simulate_into
    from orchestration.defs.labels.assets import step_energy_labels
    from orchestration.defs.warehouse.resources import Warehouse
    from orchestration.pipeline import run_pipeline

    settings = configure(home=tmp_path_factory.mktemp("labels"))
    simulate_into(settings, DAYS, seed=3, start=START)
    outcome = run_pipeline(settings, START, date.fromordinal(START.toordinal() + DAYS - 1))
    assert outcome.success, outcome.error
    result = dg.materialize(
        [step_energy_labels],
        resources={"warehouse": Warehouse(path=str(settings.warehouse_path))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        yield con


# A batch's energy by hand: its line's equipment energy (location-based rows) in its window.
_BATCH_KWH = """
select p.batch_id, sum(e.kwh) as kwh
from staging.stg_landing__production as p
join marts.dim_equipment as d on d.line_id = p.line_id
join marts.fct_emissions_interval as e
    on e.equipment_id = d.equipment_id and e.method = 'location'
    and e.interval_start_utc >= p.start_utc and e.interval_start_utc < p.end_utc
where p.good_units > 0
group by p.batch_id
"""


def test_batch_energy_is_the_line_energy_during_the_batch(warehouse):
    rows = warehouse.sql(f"""
        select count(*), max(abs(b.kwh - h.kwh)), count(h.batch_id)
        from forecasting.batch_excess_energy as b left join ({_BATCH_KWH}) as h using (batch_id)
    """).fetchall()[0]
    batches, worst, matched = rows
    assert batches > 20 and matched == batches
    assert worst < 1e-6


def test_excess_is_never_negative_and_ranked_by_kg(warehouse):
    rows = warehouse.sql(
        "select rank, excess_kwh, excess_kg_co2e from forecasting.batch_excess_energy "
        "order by rank"
    ).fetchall()
    assert all(kwh >= -1e-9 for _, kwh, _ in rows)
    kgs = [kg for _, _, kg in rows]
    assert kgs == sorted(kgs, reverse=True) and [r for r, _, _ in rows][0] == 1


def test_a_label_is_the_sum_of_its_step_benchmarks(warehouse):
    rows = warehouse.sql("""
        select l.sku, l.label_kwh_per_unit, sum(b.benchmark_kwh_per_unit)
        from forecasting.energy_labels as l
        join forecasting.step_benchmarks as b using (sku)
        group by l.sku, l.label_kwh_per_unit
    """).fetchall()
    assert rows
    for _, label, summed in rows:
        assert label == pytest.approx(summed, rel=1e-12)
