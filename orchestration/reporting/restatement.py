"""The restatement report: figures as reported then, beside the figures now, per period, and why
they changed (the factor's new version and its source document, new instruments, revised energy).

"Then" is, per site-day, the version reported at `as_of` (default: the first report of the day);
"now" is the latest version. Both come from `audit.emissions_reported_on`, the append-only
history the pipeline writes at every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import duckdb

from orchestration.reporting.periods import Period
from orchestration.reporting.reader import has_table


@dataclass(frozen=True)
class RestatementRow:
    site_id: str
    period: str  # the month (YYYY-MM) or the day
    method: str
    days: int
    days_restated: int
    old_kg: Decimal | None
    new_kg: Decimal | None
    reasons: str
    sources: str

    @property
    def delta_kg(self) -> Decimal | None:
        if self.old_kg is None or self.new_kg is None:
            return None
        return self.new_kg - self.old_kg


def restatements(
    con: duckdb.DuckDBPyConnection,
    *,
    site_id: str | None = None,
    period: Period | None = None,
    as_of: datetime | None = None,
    by: str = "month",
    only_changed: bool = True,
) -> list[RestatementRow]:
    """Old vs new per (site, month or day, method). `as_of` is a naive UTC datetime."""
    if not has_table(con, "audit", "emissions_reported_on"):
        raise RuntimeError(
            "the warehouse has no audit.emissions_reported_on yet: run the pipeline once"
        )
    bucket = (
        "strftime(site_local_date, '%Y-%m')"
        if by == "month"
        else "cast(site_local_date as varchar)"
    )
    old_filter = (
        "reported_at_utc <= $as_of and (superseded_at_utc is null or superseded_at_utc > $as_of)"
        if as_of is not None
        else "version_no = 1"
    )
    rows = con.execute(
        f"""
        with
        versions as (
            select * from audit.emissions_reported_on
            where ($site is null or site_id = $site)
                and ($first is null or site_local_date >= $first)
                and ($last is null or site_local_date <= $last)
        ),
        old as (select * from versions where {old_filter}),
        new as (select * from versions where superseded_at_utc is null),
        paired as (
            select
                new.site_id, new.site_local_date, new.method,
                old.kg_co2e as old_kg, new.kg_co2e as new_kg,
                coalesce(old.version_no, 0) as old_version, new.version_no as new_version
            from new
            left join old using (site_id, site_local_date, method)
        ),
        why as (
            select
                paired.site_id, paired.site_local_date, paired.method,
                string_agg(distinct versions.change_reason, '; ') as reasons
            from paired
            inner join versions
                on versions.site_id = paired.site_id
                and versions.site_local_date = paired.site_local_date
                and versions.method = paired.method
                and versions.version_no > paired.old_version
                and versions.version_no <= paired.new_version
            group by all
        ),
        sources as (
            select
                paired.site_id, paired.site_local_date, paired.method,
                string_agg(distinct restated.new_source_documents, '; ') as sources
            from paired
            inner join audit.rpt_restatements as restated
                on restated.site_id = paired.site_id
                and restated.site_local_date = paired.site_local_date
                and restated.method = paired.method
                and restated.version_no > paired.old_version
                and restated.version_no <= paired.new_version
            group by all
        )
        select
            paired.site_id,
            {bucket.replace("site_local_date", "paired.site_local_date")} as bucket,
            paired.method,
            count(*) as days,
            count(*) filter (where paired.new_version > paired.old_version) as days_restated,
            case when bool_or(paired.old_kg is null) then null else sum(paired.old_kg) end,
            case when bool_or(paired.new_kg is null) then null else sum(paired.new_kg) end,
            coalesce(string_agg(distinct why.reasons, '; '), '') as reasons,
            coalesce(string_agg(distinct sources.sources, '; '), '') as sources
        from paired
        left join why using (site_id, site_local_date, method)
        left join sources using (site_id, site_local_date, method)
        group by all
        order by 1, 2, 3
        """,
        {
            "site": site_id,
            "first": period.first_day if period else None,
            "last": period.last_day if period else None,
            **({"as_of": as_of} if as_of is not None else {}),
        },
    ).fetchall()
    out = [RestatementRow(*row) for row in rows]
    return [r for r in out if r.days_restated] if only_changed else out
