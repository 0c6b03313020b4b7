"""Official national grid factors of Taiwan and Korea, one row per published year
(``country, data_year, factor, unit, basis, publisher_as_reported, source_url, note``).

Units trap: Taiwan publishes **kg CO2e/kWh**, Korea **t CO2eq/MWh** — numerically the same
scale (1 t/MWh = 1 kg/kWh) but different units, landed as published (``kgCO2e/kWh``,
``tCO2eq/MWh``).

Validity: a factor for data year Y is valid for the *local* calendar year Y — Asia/Taipei or
Asia/Seoul 1 January 00:00 to the next — converted to UTC (e.g. TW 2023: 2022-12-31 16:00 UTC
… 2023-12-31 16:00 UTC). Rows whose data_year is not one year (Korea's "2014-2016 avg",
"2020-2022 avg") are not landed by default — the file says which years were averaged, not which
years the average applies to — and are listed as skipped; pass ``multi_year_windows=
{"2014-2016 avg": (2021, 2025)}`` (first and last year it applies to) to land one.

published_at, in this order:
1. a date stated in ``basis`` ("announced 2024-04-26", "published 2025-03" → 1 March), local
   midnight in UTC;
2. Korea: a row without a date that shares its source_url with a dated row takes that date
   (the 2021/2022 single-year "reference values" were published with the 2023 value);
3. otherwise an assumption, stated in the report: 1 July of the year after the data year
   (a multi-year factor landed by request: 1 January of the first year it applies to).
   Taiwan's MOEA announces each year's factor months after the year ends (2023's on
   2024-04-26), so earlier years' factors were not known during the year they apply to —
   a factor version that arrives late and applies retroactively. (Taiwan rows are not given
   the article's date: the article looks back over many years.)

Factor ids: ``TW-MOEA-GRID`` (the id the simulator uses for its Taiwan series),
``KR-GRID-CONSUMPTION`` for Korea's single-year consumption-side factors, ``KR-GRID-<label>``
for a multi-year average landed by request.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl

from ingestion.factors.common import (
    LoadedFactors,
    build_frame,
    file_digest,
    local_midnight_utc,
    local_year_utc,
    parse_number,
    read_publisher_table,
    require_columns,
    slug,
)
from ingestion.files.errors import Problem
from ingestion.files.readers import ROW

PUBLISHER = "tw_kr_official"
COUNTRIES: dict[str, dict[str, str]] = {
    "TW": {"timezone": "Asia/Taipei", "factor_id": "TW-MOEA-GRID"},
    "KR": {"timezone": "Asia/Seoul", "factor_id": "KR-GRID-CONSUMPTION"},
}
ASSUMED_MONTH_DAY = (7, 1)  # published_at assumption: 1 July of the year after the data year
_DATE_IN_BASIS = re.compile(r"(?:announced|published)\s+(\d{4})-(\d{2})(?:-(\d{2}))?")


def _stated_date(basis: str) -> date | None:
    match = _DATE_IN_BASIS.search(basis or "")
    if not match:
        return None
    year, month, day = match.groups()
    return date(int(year), int(month), int(day) if day else 1)


def read(
    path: Path | str,
    *,
    version: str | None = None,
    multi_year_windows: dict[str, tuple[int, int]] | None = None,
) -> LoadedFactors:
    path = Path(path)
    table = read_publisher_table(path)
    require_columns(
        table, ["country", "data_year", "factor", "unit", "basis", "source_url"], "TW/KR", path
    )
    multi_year_windows = dict(multi_year_windows or {})
    digest = file_digest(path)
    rows_in = list(table.frame.iter_rows(named=True))
    dated_urls: dict[tuple[str, str], date] = {}
    for rec in rows_in:
        stated = _stated_date(rec["basis"])
        if stated and rec["source_url"]:
            dated_urls.setdefault((rec["country"].strip(), rec["source_url"]), stated)

    records, rows, skipped = [], [], []
    assumed: list[str] = []
    inherited: list[str] = []
    for rec in rows_in:
        line, country = rec[ROW], rec["country"].strip().upper()
        if country not in COUNTRIES:
            skipped.append(Problem(line, "country", rec["country"], "not TW or KR"))
            continue
        tz = COUNTRIES[country]["timezone"]
        value = parse_number(rec["factor"])
        if value is None:
            skipped.append(Problem(line, "factor", rec["factor"], "no numeric value"))
            continue
        label = rec["data_year"].strip()
        factor_id = COUNTRIES[country]["factor_id"]
        if re.fullmatch(r"\d{4}", label):
            year = int(label)
            start, end = local_year_utc(year, tz)
        elif label in multi_year_windows:
            first, last = multi_year_windows[label]
            start, end = local_year_utc(first, tz)[0], local_year_utc(last, tz)[1]
            year = None
            factor_id = f"{country}-GRID-{slug(label).upper()}"
        else:
            skipped.append(
                Problem(
                    line,
                    "data_year",
                    label,
                    "a multi-year average: the file does not say which years it applies to "
                    "(land it with multi_year_windows={label: (first_year, last_year)})",
                )
            )
            continue
        stated = _stated_date(rec["basis"])
        if stated is None and country == "KR":
            stated = dated_urls.get((country, rec["source_url"]))
            if stated is not None:
                inherited.append(f"{country} {label}")
        if stated is None and year is None:
            # applied from `first`: published at the latest when it started to apply
            stated = date(multi_year_windows[label][0], 1, 1)
            assumed.append(f"{country} {label} (start of the years it applies to)")
        elif stated is None:
            stated = date(year + 1, *ASSUMED_MONTH_DAY)
            assumed.append(f"{country} {label}")
        records.append(
            {
                "factor_id": factor_id,
                "version": version or f"{country.lower()}-official-{digest}",
                "method": "location",
                "region": country,
                "energy_carrier": "electricity",
                "granularity": "annual",
                "valid_from": start,
                "valid_to": end,
                "value": value,
                "unit": rec["unit"].strip(),
                "gas": "CO2e",
                "gwp_set": None,
                "source_document": (
                    f"{rec.get('publisher_as_reported') or country}: {rec['basis']} "
                    f"({rec['source_url']}; {path.name})"
                ),
                "published_at": local_midnight_utc(stated, tz),
            }
        )
        rows.append(line)
    notes = [
        "TW in kgCO2e/kWh, KR in tCO2eq/MWh (1 t/MWh = 1 kg/kWh); each valid for the local "
        "calendar year (Asia/Taipei, Asia/Seoul), stored in UTC.",
    ]
    if inherited:
        notes.append(
            "published_at taken from the dated row of the same announcement for: "
            + ", ".join(inherited)
        )
    if assumed:
        notes.append(
            "published_at ASSUMED (no date in the file) — 1 July of the following year, the "
            "factor being announced months after the year ends — for: " + ", ".join(assumed)
        )
    return LoadedFactors(PUBLISHER, path, build_frame(records), rows, skipped, notes)


def load(path: Path | str, **options) -> pl.DataFrame:
    return read(path, **options).frame
