"""The published warehouse: what BI tools and auditors open, swapped in after every good run.

`published_warehouse` depends on every asset of the public schemas (marts, audit, quality,
forecasting, planning), so it runs last in a pipeline run and only when everything upstream
was materialized and the blocking checks passed: a run that fails, or a bill that does not
balance, leaves readers on the previous publication instead of half-updated figures.
"""

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from pathlib import Path

import dagster as dg

from orchestration.defs.warehouse.dbt import dbt_project
from orchestration.defs.warehouse.resources import Warehouse
from orchestration.pipeline import RANGE_END_TAG, RANGE_START_TAG
from orchestration.publishing.dictionary import load_json, public_models, table_docs
from orchestration.publishing.snapshot import PUBLIC_SCHEMAS, publish, published_path
from orchestration.settings import load_settings

PUBLISHED = dg.AssetKey(["publishing", "published_warehouse"])
PARTITION_TAG = "dagster/partition"


def public_asset_keys(assets: Iterable[object]) -> list[dg.AssetKey]:
    """The keys of every materializable asset whose first key part is a public schema: dbt
    marts, and the tables the quality, forecasting and planning assets write."""
    keys = {
        key
        for asset in assets
        if isinstance(asset, dg.AssetsDefinition) and asset.is_executable
        for key in asset.keys
        if key.path[0] in PUBLIC_SCHEMAS
    }
    return sorted(keys, key=lambda k: k.to_user_string())


def build_published_warehouse(upstream: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED,
        deps=list(upstream),
        group_name="publishing",
        kinds={"duckdb"},
        # The UI flags a publication older than the health check's default limit: on a live
        # plant the landing sensor publishes every few minutes.
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=2), warn_window=timedelta(minutes=30)
        ),
        description="A read-only copy of the public schemas (marts, audit, quality, forecasting, "
        "planning) in $WATTPRINT_HOME/published/wattprint.duckdb, swapped in atomically after "
        "every successful run: BI tools and auditors query it at any time, never get a lock "
        "error and never see a half-updated day. meta.publication says when and from which run "
        "it was published.",
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        settings = load_settings()
        tags = context.run.tags
        # A range run (the command line, the landing sensor, backfills) or one partition (a
        # restatement job); an unpartitioned run recomputed no particular day.
        first = _day(tags.get(RANGE_START_TAG) or tags.get(PARTITION_TAG))
        last = _day(tags.get(RANGE_END_TAG) or tags.get(PARTITION_TAG))
        manifest = load_json(dbt_project.manifest_path)
        docs = table_docs(public_models(manifest)) if manifest else {}
        publication = publish(
            warehouse=Path(warehouse.resolved_path()),
            target=published_path(settings.home),
            run_id=context.run.run_id,
            first_day=first,
            last_day=last,
            docs=docs,
        )
        table_lines = ["| table | rows |", "|---|---:|"] + [
            f"| {t.schema}.{t.name} | {t.rows:,} |" for t in publication.tables
        ]
        return dg.MaterializeResult(
            metadata={
                # Shown as a date in the UI: the last publication time readers see.
                "published_at": dg.MetadataValue.timestamp(
                    publication.published_at_utc.replace(tzinfo=UTC).timestamp()
                ),
                "path": dg.MetadataValue.path(str(publication.path)),
                "source_run_id": publication.source_run_id,
                "days_recomputed": f"{first} … {last}" if first else "none (unpartitioned run)",
                "tables": len(publication.tables),
                "dagster/row_count": publication.rows,
                "size_mb": round(publication.size_bytes / 1e6, 2),
                "publish_seconds": round(publication.seconds, 2),
                "published_tables": dg.MetadataValue.md("\n".join(table_lines)),
            }
        )

    return published_warehouse


def _day(text: str | None) -> date | None:
    """A site-local day from a run tag; None for other partition keys (forecast horizons)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
