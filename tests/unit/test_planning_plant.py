"""The planning instance from a plant's own data, on a tiny plant computed by hand: rates,
energy per unit per step, changeovers, the order book, intensity, tariff, materials."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.planning.plant import (
    PlanningDataError,
    PlantData,
    build_site_instance,
    changeover_gaps,
    horizon_intensity,
    job_changeovers,
    seasonal_naive,
)
from models.planning.plant_settings import (
    PlanningFileError,
    PlanningSettings,
    load_materials,
    load_settings,
)
from models.planning.solver import SolverConfig, plan
from models.planning.tables import compile_instance
from models.planning.tariffs import RuleTariff, TariffRule, slot_tariff

T0 = datetime(2026, 1, 10)  # a Saturday; UTC, naive like the warehouse
SNAPSHOT = datetime(2026, 1, 10, 6, 7)  # not on the 15-minute grid


def _batches() -> pl.DataFrame:
    h = lambda x: T0 + timedelta(hours=x)  # noqa: E731
    return pl.DataFrame(
        {
            "batch_id": ["B1", "B2", "B3", "B4"],
            "line_id": ["L1", "L1", "L2", "L1"],
            "sku": ["X", "Y", "X", "X"],
            "start_utc": [h(0), h(1.5), h(0), h(4)],
            "end_utc": [h(1), h(3.5), h(2), h(5)],
            "good_units": [100, 300, 200, 150],
            "shift": ["A", "A", "A", "A"],
        }
    )


def _intervals() -> pl.DataFrame:
    """E1 (L1 reflow) 2 kWh and E2 (L1 printing) 0.5 kWh per interval while L1 runs, 0.3 kWh
    idle in L1's gaps (belongs to no batch); E3 (L2 test) 1 kWh while L2 runs."""
    rows = []
    for k in range(24):  # 00:00-06:00
        t = T0 + timedelta(minutes=15 * k)
        l1_runs = (
            t < T0 + timedelta(hours=1)
            or (T0 + timedelta(hours=1.5) <= t < T0 + timedelta(hours=3.5))
            or (T0 + timedelta(hours=4) <= t < T0 + timedelta(hours=5))
        )
        rows.append(("E1", t, 2.0 if l1_runs else 0.3))
        rows.append(("E2", t, 0.5 if l1_runs else 0.3))
        rows.append(("E3", t, 1.0 if t < T0 + timedelta(hours=2) else 0.2))
    return pl.DataFrame(rows, schema=["equipment_id", "interval_start_utc", "kwh"], orient="row")


EQUIPMENT = pl.DataFrame(
    {
        "equipment_id": ["E1", "E2", "E3"],
        "line_id": ["L1", "L1", "L2"],
        "process_step": ["reflow", "printing", "functional_test"],
    }
)


def _orders() -> pl.DataFrame:
    s = SNAPSHOT
    rows = [
        # order_id, sku, step, qty, due, priority, status, created, shipped
        (
            "O1",
            "X",
            "reflow",
            250,
            s + timedelta(days=1),
            1.0,
            "open",
            s - timedelta(hours=5),
            None,
        ),
        (
            "O2",
            "Y",
            "reflow",
            150,
            s + timedelta(days=2),
            2.0,
            "open",
            s - timedelta(hours=6),
            None,
        ),
        (
            "O3",
            "X",
            "functional_test",
            100,
            s + timedelta(days=1),
            None,
            "open",
            s - timedelta(hours=4),
            None,
        ),
        ("O4", "X", None, 100, s + timedelta(days=2), 1.0, "open", s - timedelta(hours=3), None),
        (
            "O5",
            "X",
            "reflow",
            100,
            s + timedelta(days=10),
            1.0,
            "open",
            s - timedelta(hours=2),
            None,
        ),
        ("O6", "Z", None, 100, s + timedelta(days=1), 1.0, "open", s - timedelta(hours=1), None),
        (
            "S1",
            "X",
            "reflow",
            100,
            s - timedelta(days=2),
            1.0,
            "shipped",
            s - timedelta(days=4),
            s - timedelta(days=2, hours=1),
        ),
        (
            "S2",
            "Y",
            "reflow",
            100,
            s - timedelta(days=3),
            1.0,
            "shipped",
            s - timedelta(days=5),
            s - timedelta(days=2),
        ),
        (
            "S3",
            "Y",
            "reflow",
            100,
            s - timedelta(days=40),
            1.0,
            "shipped",
            s - timedelta(days=45),
            s - timedelta(days=35),
        ),
    ]
    frame = pl.DataFrame(
        rows,
        schema=[
            "order_id",
            "sku",
            "process_step",
            "quantity",
            "due_ts",
            "priority",
            "status",
            "created_at",
            "shipped_at",
        ],
        orient="row",
    ).with_columns(pl.lit(SNAPSHOT).alias("snapshot_at"))
    # an older export: superseded by the newer one, whatever it says
    older = frame.head(2).with_columns(
        pl.lit(SNAPSHOT - timedelta(days=1)).alias("snapshot_at"),
        pl.lit(99_999, pl.Int64).alias("quantity"),
    )
    return pl.concat([older, frame]).with_columns(
        pl.col(c).dt.replace_time_zone("UTC")
        for c in ("due_ts", "created_at", "shipped_at", "snapshot_at")
    )


def _observed(days: int = 9) -> pl.DataFrame:
    hours = [T0 - timedelta(days=days) + timedelta(hours=k) for k in range(days * 24 + 6)]
    return pl.DataFrame(
        {"hour_utc": hours, "kg_per_kwh": [0.4 + 0.01 * h.hour + 0.001 * h.day for h in hours]}
    )


MATERIALS = pl.DataFrame(
    {
        "sku": ["X", "X", "Y"],
        "process_step": ["reflow", "reflow", "reflow"],
        "material": ["std", "recycled", "std"],
        "kg_co2e_per_unit": [0.05, 0.02, 0.04],
        "cost_per_unit": [1.0, 1.2, 0.8],
        "low_carbon": [False, True, False],
    }
)
TARIFF = {
    "name": "test",
    "rules": [{"price": 0.3, "hours": [9, 17], "weekdays": [1, 2, 3, 4, 5, 6]}],
    "default_price": 0.1,
}


def _data(**changes) -> PlantData:
    settings = PlanningSettings.model_validate({"horizon_days": 3, "tariff": TARIFF})
    data = PlantData(
        site_id="S1",
        timezone="Asia/Taipei",
        orders=_orders(),
        production=_batches(),
        intervals=_intervals(),
        equipment=EQUIPMENT,
        observed_intensity=_observed(),
        settings=settings,
        materials=MATERIALS,
        constant_factor=(0.5, "F-ANNUAL 2026.1"),
        bill_price=(0.2, "BILL-1", "TWD"),
    )
    return replace(data, **changes)


@pytest.fixture(scope="module")
def built():
    return build_site_instance(_data())


def test_horizon_starts_on_the_grid_after_the_snapshot(built):
    inst = built.instance
    assert built.as_of == SNAPSHOT.replace(tzinfo=UTC)
    assert inst.start == datetime(2026, 1, 10, 6, 15, tzinfo=UTC)
    assert inst.n_slots == 3 * 96


def test_open_orders_in_fifo_order_and_what_is_deferred(built):
    # the newest snapshot only; created_at order: O2 (6 h before), O1, O3, O4
    assert [o.order_id for o in built.instance.orders] == ["O2", "O1", "O3", "O4"]
    assert [o.quantity for o in built.instance.orders] == [150, 250, 100, 100]
    assert built.instance.orders[2].priority == 1.0  # a null priority counts as 1
    reasons = dict(zip(built.deferred["order_id"], built.deferred["reason"], strict=True))
    assert reasons == {
        "O5": "due after the horizon",
        "O6": "no line made Z in the history window",
    }


def test_rates_are_measured_good_units_per_batch_hour(built):
    rates = built.instance.rates
    assert rates[("X@reflow", "L1")] == pytest.approx((100 + 150) / 2)
    assert rates[("Y@reflow", "L1")] == pytest.approx(300 / 2)
    assert rates[("X@functional_test", "L2")] == pytest.approx(200 / 2)
    # an operation limits the lines to those with its step; no step: every line that made it
    assert ("X@reflow", "L2") not in rates and ("X@functional_test", "L1") not in rates
    assert rates[("X", "L1")] == pytest.approx(125.0) and rates[("X", "L2")] == pytest.approx(100)


def test_energy_per_unit_is_summed_over_the_steps_and_leaves_idle_energy_out(built):
    kwh = built.instance.kwh_per_unit
    # X on L1: reflow 8 intervals x 2 kWh / 250 units + printing 8 x 0.5 / 250
    assert kwh[("X@reflow", "L1")] == pytest.approx(16 / 250 + 4 / 250)
    # Y on L1: 8 intervals of its batch
    assert kwh[("Y@reflow", "L1")] == pytest.approx(16 / 300 + 4 / 300)
    assert kwh[("X@functional_test", "L2")] == pytest.approx(8 / 200)
    steps = built.capabilities.filter((pl.col("line_id") == "L1") & (pl.col("sku") == "X"))
    per_step = dict(zip(steps["process_step"], steps["kwh_per_unit"], strict=True))
    assert per_step == pytest.approx({"reflow": 16 / 250, "printing": 4 / 250})


def test_changeovers_are_the_measured_gaps_between_skus(built):
    ch = built.instance.changeover_minutes
    assert ch[("X@reflow", "Y@reflow")] == 30.0 and ch[("Y@reflow", "X@reflow")] == 30.0
    # two operations of one SKU sharing a line (the step-less X runs on L1 and L2): none
    assert ch[("X@functional_test", "X")] == 0.0
    # jobs that never share a line never meet: not in the measured table
    pairs = set(zip(built.changeovers["from_job"], built.changeovers["to_job"], strict=True))
    assert ("X@functional_test", "Y@reflow") not in pairs and ("X", "Y@reflow") in pairs


def test_triangle_closure_shortens_a_long_direct_changeover():
    gaps = pl.DataFrame(
        {
            "line_id": ["L"] * 3,
            "from_sku": ["a", "b", "a"],
            "to_sku": ["b", "c", "c"],
            "minutes": [60.0, 10.0, 100.0],
        }
    )
    lines = {"a": ["L"], "b": ["L"], "c": ["L"]}
    ch, table = job_changeovers(gaps, lines)
    assert ch[("a", "c")] == 70.0  # a -> b -> c is shorter than the measured 100
    assert ch[("a", "b")] == 60.0 and ch[("b", "c")] == 10.0
    # pairs never seen take the line's median change (60)
    assert ch[("c", "a")] == 60.0
    assert table.height == 6


def test_changeover_gaps_ignore_shift_boundaries():
    frame = _batches().with_columns(
        pl.when(pl.col("batch_id") == "B4").then(pl.lit("B")).otherwise("shift").alias("shift")
    )
    gaps = changeover_gaps(frame)
    assert gaps.select("from_sku", "to_sku", "minutes").rows() == [("X", "Y", 30.0)]


def test_recent_on_time_counts_shipments_in_the_lookback(built):
    # S1 shipped before its due time, S2 a day late, S3 is 35 days old (outside 28)
    assert built.recent_on_time == 0.5


def test_low_carbon_rule_applies_to_units_that_can_be_low_carbon(built):
    inst = built.instance
    # 0.3 of X@reflow's 250 units, as a share of all 600 planned units
    assert inst.low_carbon_min_share == pytest.approx(0.3 * 250 / 600)
    assert [m.name for m in inst.materials["X@reflow"]] == ["std", "recycled"]
    assert [m.name for m in inst.materials["X@functional_test"]] == ["no material choice"]


def test_intensity_same_hour_last_week_and_tariff_from_rules(built):
    inst = built.instance
    # slot 0 starts 06:15 UTC on the 10th, after the last observed hour (05:00): the 3rd, 06:00
    assert inst.intensity[0] == pytest.approx(0.4 + 0.06 + 0.003)
    assert inst.intensity[4] == pytest.approx(0.4 + 0.07 + 0.003)  # 07:15 UTC
    # 06:15 UTC = 14:15 Saturday in Taipei: the 09-17 rule; 09:15 UTC = 17:15: default
    assert inst.tariff[0] == 0.3 and inst.tariff[12] == 0.1
    assert "seasonal naive" in built.sources["intensity"]


def test_the_instance_plans_with_every_order_placed(built):
    result = plan(built.instance, config=SolverConfig(pop_size=20, n_gen=5, seed=3))
    assert result.recommended["feasible"] == 1.0
    placed = result.schedule.group_by("order_id").agg(pl.col("units").sum())
    assert dict(placed.iter_rows()) == pytest.approx({"O1": 250, "O2": 150, "O3": 100, "O4": 100})
    tb = compile_instance(built.instance)
    assert tb.low_carbon_min == pytest.approx(0.125)


def test_forecast_fills_the_hours_it_covers():
    start = datetime(2026, 1, 10, 6, 15, tzinfo=UTC)
    forecast = pl.DataFrame(
        {"hour_utc": [datetime(2026, 1, 10, h) for h in range(6, 12)], "kg_per_kwh": [0.9] * 6}
    )
    values, source = horizon_intensity(_data(forecast_intensity=forecast), start, 96, 15)
    assert (values[:23] == 0.9).all()  # 06:15 … 11:45
    assert values[23] == pytest.approx(0.4 + 0.12 + 0.003)  # 12:00 from the 3rd
    assert source.startswith("hourly grid-intensity forecast for 24% of the horizon")


def test_less_than_a_week_observed_repeats_the_day():
    values, source = seasonal_naive(_observed(days=2), datetime(2026, 1, 10, 6, tzinfo=UTC), 4, 60)
    assert values[0] == pytest.approx(0.4 + 0.06 + 0.009)  # the 9th, 06:00
    assert "same hour of the day" in source


def test_fallbacks_constant_factor_and_bill_price():
    data = _data(
        observed_intensity=_observed().head(0),
        settings=PlanningSettings.model_validate({"horizon_days": 3}),
    )
    built = build_site_instance(data)
    assert (built.instance.intensity == 0.5).all()
    assert "timing cannot change emissions" in built.sources["intensity"]
    assert (built.instance.tariff == 0.2).all() and built.instance.currency == "TWD"
    with pytest.raises(PlanningDataError, match="no tariff"):
        build_site_instance(replace(data, bill_price=None))
    with pytest.raises(PlanningDataError, match="no grid intensity"):
        build_site_instance(replace(data, constant_factor=None))


def test_no_materials_file_means_no_choice_and_no_rule():
    built = build_site_instance(_data(materials=None))
    assert built.instance.low_carbon_min_share == 0.0
    assert all(len(m) == 1 for m in built.instance.materials.values())


def test_missing_history_or_orders_are_clear_errors():
    with pytest.raises(PlanningDataError, match="no production batches"):
        build_site_instance(_data(production=_batches().head(0)))
    with pytest.raises(PlanningDataError, match="no order book"):
        build_site_instance(_data(orders=_orders().head(0)))


# ---------------------------------------------------------------- the planning files


def test_settings_file_errors_name_the_field(tmp_path):
    (tmp_path / "settings.json").write_text('{"night_share_bounds": [0.5, 0.2]}')
    with pytest.raises(PlanningFileError, match="night_share_bounds"):
        load_settings(tmp_path)
    (tmp_path / "settings.json").write_text('{"night_shift": "N"}')
    with pytest.raises(PlanningFileError, match="night_shift 'N'"):
        load_settings(tmp_path)
    (tmp_path / "settings.json").write_text('{"horizon_days": 3, "typo": 1}')
    with pytest.raises(PlanningFileError, match="typo"):
        load_settings(tmp_path)
    settings, source = load_settings(tmp_path / "absent")
    assert settings.horizon_days == 7 and source.startswith("defaults")


def test_materials_file_is_checked(tmp_path):
    path = tmp_path / "materials.csv"
    path.write_text("sku,material,kg_co2e_per_unit,cost_per_unit,low_carbon\nX,a,1,1,false\n")
    with pytest.raises(PlanningFileError, match="process_step"):
        load_materials(tmp_path)
    path.write_text(
        "sku,process_step,material,kg_co2e_per_unit,cost_per_unit,low_carbon\nX,,a,-1,1,false\n"
    )
    with pytest.raises(PlanningFileError, match="negative"):
        load_materials(tmp_path)
    path.write_text(
        "sku,process_step,material,kg_co2e_per_unit,cost_per_unit,low_carbon\nX,,a,0.5,1,true\n"
    )
    frame = load_materials(tmp_path)
    assert frame["process_step"].to_list() == [None] and frame["low_carbon"].to_list() == [True]


def test_rule_tariff_first_match_and_gaps():
    tariff = RuleTariff(
        (TariffRule(9.0, (16, 22), (1, 2, 3, 4, 5)), TariffRule(5.0, (9, 24))), default_price=None
    )
    local = datetime(2026, 1, 20, 17, tzinfo=UTC)  # a Tuesday
    assert tariff.price(local) == 9.0
    assert tariff.price(local.replace(hour=23)) == 5.0
    assert tariff.price(local.replace(day=25, hour=17)) == 5.0  # Sunday: no peak
    with pytest.raises(ValueError, match="no tariff rule"):
        tariff.price(local.replace(hour=3))


def test_simulated_tariff_prices_every_interval_like_the_bills():
    from ingestion.simulator.bills import tou_rate
    from ingestion.simulator.planning import planning_settings
    from ingestion.simulator.timeline import Timeline

    settings = PlanningSettings.model_validate(planning_settings())
    for start in (datetime(2026, 1, 5), datetime(2026, 7, 6)):  # winter and summer weeks
        tl = Timeline.build(start.date(), 7, "Asia/Taipei")
        prices = slot_tariff(tl.start_utc, tl.n, 15, "Asia/Taipei", settings.tariff.build())
        np.testing.assert_allclose(prices, tou_rate(tl))


def test_a_book_that_cannot_fit_says_where():
    orders = _orders().with_columns(
        pl.when(pl.col("order_id") == "O1").then(40_000).otherwise("quantity").alias("quantity")
    )
    # O1 alone needs 40,000 / 125 = 320 h on L1; three days have 72
    with pytest.raises(PlanningDataError, match=r"need 32\d h on L1 but the horizon has 72 h"):
        build_site_instance(_data(orders=orders))
