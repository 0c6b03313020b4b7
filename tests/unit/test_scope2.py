"""Scope 2 dual reporting: the published worked examples (read from the CSV), then hand-made
cases for the rules — market and period matching, quality order, residual mix absent, hourly
matching."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingestion.factors import electricitymaps, units
from ingestion.factors.common import build_frame
from models.scope2 import dual_report, read_instruments_csv
from models.scope2.dual import FLAG_NO_LOCATION, FLAG_NO_MARKET, FLAG_RESIDUAL_MISSING

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
EXAMPLES = DATA / "scope2_examples" / "scope2_worked_examples.csv"
GB2021 = DATA / "grid_intensity_gb_hourly" / "GB_2021_hourly.csv"

Y2023 = datetime(2023, 1, 1, tzinfo=UTC)
Y2024 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def factor(method: str, value: float, unit: str = "kgCO2e/kWh", region: str = "R", **extra):
    record = {
        "factor_id": f"{region}-{method}",
        "version": "1",
        "method": method,
        "region": region,
        "energy_carrier": "electricity",
        "granularity": "annual",
        "valid_from": Y2023,
        "valid_to": Y2024,
        "value": value,
        "unit": unit,
        "gas": "CO2e",
        "source_document": "test",
        "published_at": Y2023,
    }
    return record | extra


def factors(*records: dict) -> pl.DataFrame:
    return build_frame(list(records))


def consumption(kwh: list[float], start=Y2023, step=None, site="S", region="R", **extra):
    step = step or (Y2024 - Y2023)
    starts = [start + i * step for i in range(len(kwh))]
    frame = pl.DataFrame(
        {
            "site_id": site,
            "interval_start": starts,
            "interval_end": [s + step for s in starts],
            "kwh": kwh,
            "grid_region": region,
        }
    )
    return frame.with_columns(**{k: pl.lit(v) for k, v in extra.items()})


def instrument(instrument_id: str, volume_kwh: float | None, **overrides) -> dict:
    record = {
        "instrument_id": instrument_id,
        "instrument_type": "certificate",
        "site_id": "S",
        "market": "R",
        "period_start": Y2023,
        "period_end": Y2024,
        "volume": volume_kwh,
        "volume_unit": None if volume_kwh is None else "kWh",
        "emission_factor": 0.0,
        "emission_factor_unit": "kgCO2e/kWh",
        "retired": True,
        "source_document": "registry statement",
    }
    return record | overrides


def instruments(*records: dict) -> pl.DataFrame:
    return pl.DataFrame(list(records), infer_schema_length=None)


def split(text: str) -> tuple[float, str]:
    """'600000 kWh' → (600000.0, 'kWh'); '0.45 kgCO2e/kWh' → (0.45, 'kgCO2e/kWh')."""
    match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*(\S*)\s*", text)
    assert match, text
    return float(match.group(1)), match.group(2)


# --- the published worked examples ----------------------------------------------------------


def load_examples() -> dict[str, dict[str, str]]:
    with open(EXAMPLES, newline="", encoding="utf-8") as handle:
        return {row["case_id"]: row for row in csv.DictReader(handle)}


def run_example(case: dict[str, str]):
    """Build the case from the CSV row alone: consumption (any energy unit), a location
    factor, an optional contract and residual mix, over one reporting year."""
    kwh = units.energy_to_kwh(float(case["consumption"]), case["consumption_unit"])
    records = [factor("location", float(case["location_factor"]), case["location_factor_unit"])]
    if case["residual_mix_factor"]:
        records.append(factor("residual_mix", *split(case["residual_mix_factor"])))
    contracts = None
    if case["contract_mwh_or_kwh_covered"]:
        volume, volume_unit = split(case["contract_mwh_or_kwh_covered"])
        contracts = instruments(
            instrument(
                "CONTRACT-1",
                volume,
                instrument_type="ppa",
                volume_unit=volume_unit,
                emission_factor=float(case["contract_factor"]),
                emission_factor_unit="kgCO2e/kWh",
            )
        )
    return dual_report(consumption([kwh]), factors(*records), contracts)


@pytest.mark.skipif(not EXAMPLES.exists(), reason="shared data not available")
def test_worked_example_gera_1():
    case = load_examples()["GERA-1"]
    assert case["result_unit"] == "tCO2e"
    result = run_example(case)
    totals = result.totals().row(0, named=True)
    # 1,000,000 kWh × 0.20 kg/kWh = 200 t; 600,000 kWh at 0 + 400,000 kWh × 0.45 = 180 t
    assert totals["location_t"] == pytest.approx(float(case["expected_location_based"]), rel=1e-12)
    assert totals["market_t"] == pytest.approx(float(case["expected_market_based"]), rel=1e-12)
    assert (totals["kwh_instrument"], totals["kwh_residual"]) == (600_000, 400_000)
    assert totals["flags"] == []
    usage = result.instruments.row(0, named=True)
    assert (usage["status"], usage["applied_kwh"], usage["unused_kwh"]) == ("applied", 6e5, 0.0)


@pytest.mark.skipif(not EXAMPLES.exists(), reason="shared data not available")
def test_worked_example_kr_moe_1():
    case = load_examples()["KR-MOE-1"]
    assert (case["consumption_unit"], case["location_factor_unit"]) == ("MWh", "tCO2eq/MWh")
    result = run_example(case)
    totals = result.totals().row(0, named=True)
    # 400 MWh × 0.4 tCO2eq/MWh = 160 tCO2eq
    assert totals["location_t"] == pytest.approx(float(case["expected_location_based"]), rel=1e-12)
    assert case["expected_market_based"] == ""  # the example gives no market-based figure:
    assert FLAG_RESIDUAL_MISSING in totals["flags"]  # ours falls back to location, flagged
    assert totals["market_t"] == pytest.approx(160.0)


# --- matching rules -------------------------------------------------------------------------


BASE_FACTORS = (factor("location", 0.2), factor("residual_mix", 0.45))


def test_instrument_for_another_market_or_period_or_not_retired_is_not_applied():
    result = dual_report(
        consumption([1000.0]),
        factors(*BASE_FACTORS),
        instruments(
            instrument("GO-FR", 500.0, market="FR"),
            instrument(
                "REC-2022",
                500.0,
                period_start=datetime(2022, 1, 1, tzinfo=UTC),
                period_end=Y2023,
            ),
            instrument("NOT-RETIRED", 500.0, retired=False),
            instrument("OTHER-SITE", 500.0, site_id="T"),
        ),
    )
    totals = result.totals().row(0, named=True)
    assert totals["kwh_instrument"] == 0
    assert totals["market_kg"] == pytest.approx(1000 * 0.45)
    usage = {r["instrument_id"]: r for r in result.instruments.iter_rows(named=True)}
    assert all(r["status"] == "not applied" and r["applied_kwh"] == 0 for r in usage.values())
    assert "market FR is not the site's market R" in usage["GO-FR"]["reason"]
    assert "has no consumption" in usage["REC-2022"]["reason"]
    assert "not retired" in usage["NOT-RETIRED"]["reason"]
    assert "no consumption of site T" in usage["OTHER-SITE"]["reason"]
    assert result.allocations.height == 0


def test_instrument_period_covers_only_intervals_inside_it():
    months = consumption([100.0] * 12, step=timedelta(days=31))  # ~monthly rows from 1 Jan
    cert = instrument(
        "H1",
        1000.0,
        period_start=Y2023,
        period_end=Y2023 + 6 * timedelta(days=31),  # the first six rows only
    )
    result = dual_report(months, factors(*BASE_FACTORS), instruments(cert))
    covered = result.intervals.get_column("kwh_instrument").to_list()
    assert covered == pytest.approx([100.0] * 6 + [0.0] * 6)  # 600 of 1000 kWh used
    usage = result.instruments.row(0, named=True)
    assert usage["status"] == "partly used" and usage["unused_kwh"] == pytest.approx(400.0)
    assert result.totals().row(0, named=True)["market_kg"] == pytest.approx(600 * 0.45)


def test_quality_order_instrument_then_supplier_then_residual():
    result = dual_report(
        consumption([1000.0]),
        factors(*BASE_FACTORS),
        instruments(
            instrument(
                "SUPPLIER",
                None,
                instrument_type="supplier_specific",
                emission_factor=0.3,
                volume_unit=None,
            ),
            instrument("REGO", 400.0, scheme="REGO"),
        ),
    )
    totals = result.totals().row(0, named=True)
    # 400 kWh by the certificate at 0, the other 600 kWh by the supplier's rate 0.3
    assert (totals["kwh_instrument"], totals["kwh_supplier"], totals["kwh_residual"]) == (
        400,
        600,
        0,
    )
    assert totals["market_kg"] == pytest.approx(600 * 0.3)
    assert totals["location_kg"] == pytest.approx(1000 * 0.2)


def test_supplier_rate_with_a_volume_leaves_the_rest_to_the_residual_mix():
    result = dual_report(
        consumption([1000.0]),
        factors(*BASE_FACTORS),
        instruments(
            instrument(
                "SUP",
                0.25,
                instrument_type="supplier_specific",
                volume_unit="MWh",
                emission_factor=300.0,
                emission_factor_unit="kgCO2e/MWh",
            )
        ),
    )
    totals = result.totals().row(0, named=True)
    assert (totals["kwh_supplier"], totals["kwh_residual"]) == (250, 750)
    assert totals["market_kg"] == pytest.approx(250 * 0.3 + 750 * 0.45)


def test_residual_mix_absent_uses_location_factor_and_flags_it():
    result = dual_report(
        consumption([1000.0]),
        factors(factor("location", 0.2)),
        instruments(instrument("GO", 250.0)),
    )
    row = result.intervals.row(0, named=True)
    assert row["kwh_location_fallback"] == pytest.approx(750.0)
    assert row["market_kg"] == pytest.approx(750 * 0.2)
    assert row["flags"] == FLAG_RESIDUAL_MISSING
    assert row["residual_factor_id"] is None and row["location_factor_id"] == "R-location"


def test_no_factor_gives_no_figure_never_zero():
    result = dual_report(consumption([1000.0], region="NOWHERE"), factors(*BASE_FACTORS))
    row = result.intervals.row(0, named=True)
    assert row["location_kg"] is None and row["market_kg"] is None
    assert FLAG_NO_LOCATION in row["flags"] and FLAG_NO_MARKET in row["flags"]
    totals = result.totals().row(0, named=True)
    assert totals["location_t"] is None and totals["market_t"] is None


def test_market_boundary_differs_from_grid_region():
    # an eGRID subregion site claims US RECs against a US residual mix
    result = dual_report(
        consumption([1000.0], region="RFCE", market="US"),
        factors(
            factor("location", 657.386, "lbCO2/MWh", region="RFCE", gas="CO2"),
            factor("residual_mix", 0.5, region="US"),
        ),
        instruments(instrument("REC", 100.0, market="US")),
    )
    totals = result.totals().row(0, named=True)
    assert totals["location_kg"] == pytest.approx(1000 * 657.386 * 0.45359237 / 1000)
    assert totals["market_kg"] == pytest.approx(900 * 0.5)


def test_as_of_uses_the_factors_published_by_then():
    v1 = factor("location", 0.2)
    v2 = factor("location", 0.25, version="2", published_at=datetime(2024, 6, 1, tzinfo=UTC))
    cons = consumption([1000.0])
    latest = dual_report(cons, factors(v1, v2)).intervals.row(0, named=True)
    assert (latest["location_version"], latest["location_kg"]) == ("2", pytest.approx(250.0))
    reported = dual_report(cons, factors(v1, v2), as_of=datetime(2024, 1, 31, tzinfo=UTC))
    assert reported.intervals.row(0, named=True)["location_kg"] == pytest.approx(200.0)


# --- hourly matching ------------------------------------------------------------------------


def hourly_case():
    start = datetime(2023, 6, 1, 10, tzinfo=UTC)
    cons = consumption([100.0] * 4, start=start, step=HOUR)  # 10:00-14:00, 100 kWh each
    certs = instruments(
        instrument("H10", 150.0, period_start=start, period_end=start + HOUR),  # 50 surplus
        instrument("H11", 50.0, period_start=start + HOUR, period_end=start + 2 * HOUR),
        instrument("DAY", 200.0, period_start=start, period_end=start + 4 * HOUR),
    )
    return cons, certs


def test_hourly_matching_covers_only_the_stamped_hours():
    cons, certs = hourly_case()
    result = dual_report(cons, factors(*BASE_FACTORS), certs, matching="hourly")
    covered = result.intervals.get_column("kwh_instrument").to_list()
    assert covered == pytest.approx([100.0, 50.0, 0.0, 0.0])
    totals = result.totals().row(0, named=True)
    assert totals["market_kg"] == pytest.approx((400 - 150) * 0.45)
    usage = {r["instrument_id"]: r for r in result.instruments.iter_rows(named=True)}
    assert usage["H10"]["status"] == "partly used" and usage["H10"]["unused_kwh"] == 50
    assert usage["H11"]["status"] == "applied"
    assert usage["DAY"]["status"] == "not applied"
    assert "not hour-stamped" in usage["DAY"]["reason"]


def test_annual_matching_pools_a_longer_period():
    cons, certs = hourly_case()
    result = dual_report(cons, factors(*BASE_FACTORS), certs, matching="annual")
    # hour-stamped first (150 of H10's 150 → 100 used; H11 50), then DAY spreads 200 over
    # the 250 kWh still open, pro rata: 0/50/100/100 open → 0/40/80/80
    covered = result.intervals.get_column("kwh_instrument").to_list()
    assert covered == pytest.approx([100.0, 90.0, 80.0, 80.0])
    assert result.totals().row(0, named=True)["market_kg"] == pytest.approx(50 * 0.45)


def test_hourly_matching_rejects_coarser_consumption():
    with pytest.raises(ValueError, match="hourly matching"):
        dual_report(consumption([1000.0]), factors(*BASE_FACTORS), matching="hourly")


@pytest.mark.skipif(not GB2021.exists(), reason="shared data not available")
def test_hourly_location_factor_from_the_electricity_maps_file():
    gb = electricitymaps.load(GB2021)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    cons = consumption(
        [100.0, 100.0, 100.0], start=start, step=HOUR, region="GB", location_granularity="hourly"
    )
    result = dual_report(cons, gb)
    # GB_2021_hourly.csv lines 2-4: 156.05, 152.55, 141.41 gCO2eq/kWh (direct)
    expected = 100 * (156.05 + 152.55 + 141.41) / 1000
    assert result.totals().row(0, named=True)["location_kg"] == pytest.approx(expected)
    assert result.intervals.get_column("location_granularity").unique().to_list() == ["hourly"]


def test_instruments_csv_reader(tmp_path):
    path = tmp_path / "instruments.csv"
    path.write_text(
        "instrument_id,instrument_type,scheme,site_id,market,period_start,period_end,volume,"
        "volume_unit,emission_factor,emission_factor_unit,technology,retired,source_document\n"
        "GO-1,certificate,GO,S,R,2023-01-01T00:00:00Z,2024-01-01T00:00:00Z,0.6,GWh,0,"
        "kgCO2e/kWh,wind,true,registry export\n"
    )
    frame = read_instruments_csv(path)
    assert frame.row(0, named=True)["volume_kwh"] == 600_000
    result = dual_report(consumption([1_000_000.0]), factors(*BASE_FACTORS), frame)
    assert result.totals().row(0, named=True)["market_t"] == pytest.approx(180.0)
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace(",0.6,GWh,", ",,,"))
    with pytest.raises(ValueError, match="a certificate needs a volume"):
        read_instruments_csv(bad)
