"""The data dictionary of the public marts, read from dbt's manifest (and catalog when built).

What BI analysts and auditors read to know what a column means: for every public model its
description, grain, contract, the exposures that use it, and for every column its type,
unit and description. `problems()` lists what is missing — a column without a description, a
quantity without a unit, a timestamp that does not say which clock, a built column the YAML
does not know — so `wattprint docs` and the tests fail on an undocumented column.

Units live in the column's `config.meta.unit` in the marts' YAML (energy kWh, emissions
kgCO2e, factors kgCO2e/kWh, counts, fractions, ratios), so they are data, not prose.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestration.publishing.snapshot import PUBLIC_SCHEMAS, TableDocs

NUMERIC_TYPES = (
    "decimal",
    "numeric",
    "double",
    "float",
    "real",
    "hugeint",
    "bigint",
    "integer",
    "int",
    "smallint",
    "tinyint",
    "ubigint",
    "uinteger",
)
TEMPORAL_TYPES = ("timestamp", "date", "time")
# A temporal column must say which clock it is on.
CLOCK_WORDS = ("utc", "local", "time zone")


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    data_type: str
    description: str
    unit: str


@dataclass(frozen=True)
class ModelDoc:
    schema: str
    name: str
    description: str
    materialized: str
    contract_enforced: bool
    grain: tuple[str, ...]
    exposures: tuple[str, ...]
    columns: tuple[ColumnDoc, ...]
    built_columns: tuple[str, ...] | None  # from the catalog; None when not built / no catalog

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


def load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def public_models(
    manifest: dict, catalog: dict | None = None, schemas: Iterable[str] = PUBLIC_SCHEMAS
) -> list[ModelDoc]:
    """Every dbt model built into a public schema, in schema and name order."""
    schemas = tuple(schemas)
    grains = _grains(manifest)
    exposures = _exposures_by_model(manifest)
    built = _catalog_columns(catalog)
    models = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node.get("schema") not in schemas:
            continue
        config = node.get("config", {})
        columns = tuple(
            ColumnDoc(
                name=name,
                data_type=(column.get("data_type") or "").lower(),
                description=" ".join((column.get("description") or "").split()),
                unit=str(_column_meta(column).get("unit") or ""),
            )
            for name, column in node.get("columns", {}).items()
        )
        models.append(
            ModelDoc(
                schema=node["schema"],
                name=node["name"],
                description=" ".join((node.get("description") or "").split()),
                materialized=config.get("materialized", ""),
                contract_enforced=bool(config.get("contract", {}).get("enforced")),
                grain=grains.get(unique_id, ()),
                exposures=tuple(sorted(exposures.get(unique_id, ()))),
                columns=columns,
                built_columns=built.get(unique_id),
            )
        )
    return sorted(models, key=lambda m: (m.schema, m.name))


def problems(models: Iterable[ModelDoc]) -> list[str]:
    """Everything that keeps the dictionary from being complete, one sentence each."""
    found = []
    for model in models:
        if not model.description:
            found.append(f"{model.relation}: the model has no description")
        # The marts are the published contract; audit and the rest describe, not promise.
        if model.schema == "marts" and not model.contract_enforced:
            found.append(f"{model.relation}: its contract is not enforced")
        documented = {c.name for c in model.columns}
        undocumented = [n for n in model.built_columns or () if n not in documented]
        if undocumented and not documented:
            found.append(f"{model.relation}: none of its {len(undocumented)} columns is documented")
        else:
            found += [f"{model.relation}.{n}: built but not in the YAML" for n in undocumented]
        for column in model.columns:
            where = f"{model.relation}.{column.name}"
            if not column.description:
                found.append(f"{where}: no description")
            if is_quantity(column.data_type) and not column.unit:
                found.append(
                    f"{where}: a {column.data_type} quantity without a unit "
                    "(add `config: {meta: {unit: ...}}`)"
                )
            if is_temporal(column.data_type) and not any(
                word in column.description.lower() for word in CLOCK_WORDS
            ):
                found.append(f"{where}: a {column.data_type} that does not say UTC or local")
    return found


def is_quantity(data_type: str) -> bool:
    return data_type.split("(")[0].strip() in NUMERIC_TYPES


def is_temporal(data_type: str) -> bool:
    return data_type.split("(")[0].strip().split(" ")[0] in TEMPORAL_TYPES


def table_docs(models: Iterable[ModelDoc]) -> dict[tuple[str, str], TableDocs]:
    """Descriptions for the published snapshot's comments, units appended in brackets."""
    return {
        (model.schema, model.name): TableDocs(
            description=model.description,
            columns={
                c.name: f"{c.description} [{c.unit}]" if c.unit else c.description
                for c in model.columns
            },
        )
        for model in models
    }


def render_markdown(models: list[ModelDoc], published_file: str | None = None) -> str:
    lines = [
        "# Wattprint data dictionary",
        "",
        "The public tables of the warehouse, as BI tools and auditors read them"
        + (f" in `{published_file}`" if published_file else "")
        + ". Energy in kWh, emissions in kgCO2e, emission factors in kgCO2e/kWh; times in UTC "
        "unless the column says local. Generated by `wattprint docs` from the dbt project.",
        "",
        "| table | grain | rows are | used by |",
        "|---|---|---|---|",
    ]
    for model in models:
        lines.append(
            f"| [`{model.relation}`](#{model.schema}{model.name}) | "
            f"{', '.join(model.grain) or '—'} | {_cell(model.description)} | "
            f"{', '.join(model.exposures) or '—'} |"
        )
    for model in models:
        lines += [
            "",
            f"## {model.relation}",
            "",
            model.description,
            "",
            f"- grain (unique): {', '.join(model.grain) or 'not declared'}",
            f"- materialized as {model.materialized}; contract "
            + (
                "enforced: names and types are checked on every build"
                if model.contract_enforced
                else "NOT enforced"
            ),
            f"- used by: {', '.join(model.exposures) or 'no exposure'}",
            "",
            "| column | type | unit | description |",
            "|---|---|---|---|",
        ]
        for column in model.columns:
            lines.append(
                f"| `{column.name}` | {column.data_type or '—'} | {column.unit or '—'} | "
                f"{_cell(column.description)} |"
            )
    return "\n".join(lines) + "\n"


def render_csv(models: list[ModelDoc]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["schema", "table", "column", "data_type", "unit", "description"])
    for model in models:
        for column in model.columns:
            writer.writerow(
                [
                    model.schema,
                    model.name,
                    column.name,
                    column.data_type,
                    column.unit,
                    column.description,
                ]
            )
    return out.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _column_meta(column: dict) -> dict:
    # dbt 1.10+ keeps a column's meta under config.meta; older manifests at the top level.
    return {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}


def _grains(manifest: dict) -> dict[str, tuple[str, ...]]:
    """A model's grain from its tests: unique_combination_of_columns, else unique columns."""
    combos: dict[str, tuple[str, ...]] = {}
    uniques: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        meta = node.get("test_metadata") or {}
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique_combination_of_columns":
            combos[node["attached_node"]] = tuple(kwargs.get("combination_of_columns") or ())
        elif meta.get("name") == "unique" and node.get("column_name"):
            uniques.setdefault(node["attached_node"], []).append(node["column_name"])
    return {**{k: tuple(v) for k, v in uniques.items()}, **combos}


def _exposures_by_model(manifest: dict) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for exposure in manifest.get("exposures", {}).values():
        for node in exposure.get("depends_on", {}).get("nodes", []):
            used.setdefault(node, set()).add(exposure["name"])
    return used


def _catalog_columns(catalog: dict | None) -> dict[str, tuple[str, ...]]:
    if not catalog:
        return {}
    return {
        unique_id: tuple(
            name.lower()
            for name, _ in sorted(node["columns"].items(), key=lambda kv: kv[1]["index"])
        )
        for unique_id, node in catalog.get("nodes", {}).items()
    }
