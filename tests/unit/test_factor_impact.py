"""Which windows a new factor file changes (the factor in effect, not the file's coverage),
the days that re-run, and the instrument and period formats the reports rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from ingestion.factors.common import build_frame
from ingestion.factors.impact import changed_windows, days_changed, local_days
from orchestration.reporting.periods import parse_period

TAIPEI = "Asia/Taipei"


def month_start(month: int) -> datetime:
    """Local (UTC+8) first of a 2026 month, in UTC."""
    if month == 13:
        return datetime(2026, 12, 31, 16, tzinfo=UTC)
    return datetime(2026, month, 1, tzinfo=UTC).replace(day=1) - (
        datetime(2026, 1, 1, 8, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)
    )


def monthly(version: str, values: list[float], published: datetime, **extra) -> pl.DataFrame:
    rows = [
        {
            "factor_id": "TW-M",
            "version": version,
            "method": "location",
            "region": "TW",
            "energy_carrier": "electricity",
            "granularity": "monthly",
            "valid_from": month_start(m),
            "valid_to": month_start(m + 1),
            "value": value,
            "unit": "kgCO2e/kWh",
            "gas": "CO2e",
            "source_document": f"bulletin {version}",
            "published_at": published,
        }
        | extra
        for m, value in enumerate(values, start=1)
    ]
    return build_frame(rows)


V1 = [0.50] * 12
JAN = datetime(2026, 1, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)


def windows(frame: pl.DataFrame) -> list[tuple]:
    return frame.select(
        pl.col("window_start").dt.strftime("%m-%d %H"),
        pl.col("window_end").dt.strftime("%m-%d %H"),
        "old_version",
        "new_version",
        "old_value_base",
        "new_value_base",
    ).rows()


def test_a_republished_year_changes_only_the_revised_quarter():
    v2 = [0.50] * 3 + [0.52] * 3 + [0.50] * 6
    changes = changed_windows(monthly("1", V1, JAN), monthly("2", v2, APR))
    # April–June as one window (consecutive months with the same old and new value merge)
    assert windows(changes) == [("03-31 16", "06-30 16", "1", "2", 0.50, 0.52)]
    # with different new values per month, one window per month
    v3 = [0.50] * 3 + [0.51, 0.52, 0.53] + [0.50] * 6
    changes = changed_windows(monthly("1", V1, JAN), monthly("3", v3, APR))
    assert [w[:2] for w in windows(changes)] == [
        ("03-31 16", "04-30 16"),
        ("04-30 16", "05-31 16"),
        ("05-31 16", "06-30 16"),
    ]


def test_same_values_in_a_new_version_change_nothing():
    assert changed_windows(monthly("1", V1, JAN), monthly("2", V1, APR)).height == 0


def test_landing_the_same_rows_again_changes_nothing():
    landed = monthly("1", V1, JAN)
    assert changed_windows(landed, landed).height == 0


def test_an_older_publication_does_not_win():
    """A late-landed file published before the one in effect changes no figure."""
    current = monthly("2", V1, APR)
    older = monthly("1", [0.40] * 12, JAN)
    assert changed_windows(current, older).height == 0


def test_first_factors_are_a_change_from_nothing():
    changes = changed_windows(monthly("1", V1, JAN).head(0), monthly("1", V1[:2], JAN))
    assert windows(changes) == [("12-31 16", "02-28 16", None, "1", None, 0.50)]


def test_a_co2e_figure_outranks_a_newer_co2_only_one():
    """Same region and window: the warehouse prefers CO2e to CO2, whatever the dates."""
    co2 = monthly("9", [0.30] * 12, APR, gas="CO2", unit="kgCO2/kWh", factor_id="TW-CO2")
    assert changed_windows(monthly("1", V1, JAN), co2).height == 0


def test_units_are_compared_converted():
    same_in_grams = monthly("2", [500.0] * 12, APR, unit="gCO2e/kWh")
    assert changed_windows(monthly("1", V1, JAN), same_in_grams).height == 0


def test_changed_days_are_those_of_sites_the_series_serves():
    v2 = [0.50] * 3 + [0.52] + [0.50] * 8
    changes = changed_windows(monthly("1", V1, JAN), monthly("2", v2, APR))
    sites = pl.DataFrame(
        {
            "site_id": ["A", "B", "C"],
            "timezone": [TAIPEI] * 3,
            "grid_region": ["TW", "TW", "KR"],
            "location_factor_granularity": ["monthly", "annual", "monthly"],
        }
    )
    days = days_changed(changes, sites, TAIPEI)
    assert min(days) == date(2026, 4, 1) and max(days) == date(2026, 4, 30) and len(days) == 30
    assert days_changed(changes, sites.filter(pl.col("site_id") != "A"), TAIPEI) == set()


def test_local_days_of_a_window_end_exclusive():
    start, end = datetime(2026, 3, 31, 16, tzinfo=UTC), datetime(2026, 4, 2, 16, tzinfo=UTC)
    assert local_days(start, end, TAIPEI) == [date(2026, 4, 1), date(2026, 4, 2)]


@pytest.mark.parametrize(
    "text, first, last",
    [
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-04-02", date(2026, 4, 2), date(2026, 4, 2)),
        ("2026-03-30..2026-04-02", date(2026, 3, 30), date(2026, 4, 2)),
    ],
)
def test_periods(text, first, last):
    period = parse_period(text)
    assert (period.first_day, period.last_day) == (first, last)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "Q1", "2026-04-02..2026-04-01", "soon"])
def test_bad_periods_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="period|ends before"):
        parse_period(text)


def test_trace_figures_parse_and_reject_clearly():
    from orchestration.reporting.trace import TraceError, parse_figure

    figure = parse_figure("TW-HSINCHU-01/L3-WAVE-01@2026-04-02")
    assert (figure.site_id, figure.equipment_id, figure.period.first_day) == (
        "TW-HSINCHU-01",
        "L3-WAVE-01",
        date(2026, 4, 2),
    )
    with pytest.raises(TraceError, match="SITE@PERIOD"):
        parse_figure("TW-HSINCHU-01 2026-04")
    with pytest.raises(TraceError, match="market-based figures are per site"):
        parse_figure("S/E@2026-04", method="market")


INSTRUMENT_HEADER = (
    "instrument_id,instrument_type,site_id,market,period_start,period_end,volume,volume_unit,"
    "emission_factor,emission_factor_unit,retired,source_document"
)


def test_instruments_import_lands_good_files_and_names_bad_rows(tmp_path):
    from ingestion.files import ImportRejected, import_file
    from ingestion.landing import LandingZone

    good = tmp_path / "good.csv"
    good.write_text(
        INSTRUMENT_HEADER
        + "\nGO-1,certificate,S,GB,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,5,MWh,0,"
        "kgCO2e/kWh,true,registry\nSUP-1,supplier_specific,S,GB,2026-01-01T00:00:00Z,"
        "2027-01-01T00:00:00Z,,,0.21,kgCO2e/kWh,true,supplier disclosure\n"
    )
    report = import_file(tmp_path / "home", "instruments", good)
    assert report.rows_landed == 2
    landed = LandingZone(tmp_path / "home").read("instruments")
    assert landed.sort("instrument_id").get_column("volume").to_list() == [5.0, None]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        INSTRUMENT_HEADER
        + "\nPPA-1,ppa,S,GB,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,,,0,kgCO2e/kWh,true,c\n"
        "GO-2,certificate,S,GB,2026-02-01T00:00:00Z,2026-01-01T00:00:00Z,5,MWh,0,kgCO2e/kWh,"
        "true,r\nGO-3,cert,S,GB,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,5,MWh,0,"
        "kgCO2e/MJ,true,r\n"
    )
    with pytest.raises(ImportRejected) as error:
        import_file(tmp_path / "home", "instruments", bad)
    described = {(p.row, p.column) for p in error.value.problems}
    assert (2, "volume") in described  # a PPA needs a volume
    assert (3, "period_end") in described  # period ends before it starts
    assert (4, "instrument_type") in described
    assert (4, "emission_factor_unit") in described
