"""The base tables' configuration (``catalogue/base/tables.yaml``): typed models, loader, lineage.

The YAML says which standardised datasets feed which base table, how their standard fields map onto the table's
columns, and the survivorship rule (source priority per attribute, then recency). It is validated at load against
the catalogue and the standardised contract (``quality/layout.py``): every mapped field must exist in the
dataset's standardised schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from jilin_pipelines.catalogue import Catalogue, catalogue
from jilin_pipelines.catalogue.loader import CATALOGUE_DIR
from jilin_pipelines.catalogue.models import Strict
from jilin_pipelines.quality.layout import standard_schema

TABLES_YAML = CATALOGUE_DIR / "base" / "tables.yaml"
NAME = r"^[a-z][a-z0-9_]*$"
ColumnType = Literal["string", "date", "datetime", "integer", "decimal"]


class BaseConfigError(ValueError):
    """``tables.yaml`` cannot be loaded; the message names the table and the source."""


class FieldMap(Strict):
    """A column taken from a standard field, optionally through a value map (values outside it become null)."""

    field: str
    map: dict[str, str] | None = None


class Const(Strict):
    const: str


ColumnMap = Annotated[str, Field(min_length=1)] | FieldMap | Const


class SourceSpec(Strict):
    dataset: str
    role: Annotated[str, Field(pattern=r"^([a-z][a-z0-9_]*)?$")] = ""
    reference: bool = False
    where: dict[str, str | list[str]] = Field(default_factory=dict)
    explode: str | None = None
    columns: dict[str, ColumnMap]

    @property
    def name(self) -> str:
        """``dataset`` or ``dataset:role``, unique within a table."""
        return f"{self.dataset}:{self.role}" if self.role else self.dataset

    def field_of(self, column: str) -> str | None:
        """The standard field a column comes from (None for a constant or an unmapped column)."""
        spec = self.columns.get(column)
        if isinstance(spec, str):
            return spec
        if isinstance(spec, FieldMap):
            return spec.field
        return None

    def fields_used(self) -> set[str]:
        used = {f for c in self.columns if (f := self.field_of(c))}
        used |= set(self.where)
        if self.explode:
            used.add(self.explode)
        return used


class TableSpec(Strict):
    name: str = ""
    title: str
    key: tuple[str, ...]
    columns: dict[str, ColumnType]
    checks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    priority: tuple[str, ...] = ()
    attribute_priority: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    key_standard: Literal["resident_id", "uscc", "plate"] | None = Field(
        None, description="the national standard the key must meet: a version whose key fails it, from whichever "
                          "dataset, never creates or updates a golden record (base/golden.py: valid_keys)",
    )
    sources: tuple[SourceSpec, ...]

    @model_validator(mode="after")
    def _coherent(self) -> TableSpec:
        if self.key_standard == "plate" and self.key != ("plate_no", "plate_type"):
            raise ValueError("key_standard plate needs the key [plate_no, plate_type]")
        if self.key_standard in ("resident_id", "uscc") and len(self.key) != 1:
            raise ValueError(f"key_standard {self.key_standard} needs a one-column key")
        for k in self.key:
            if k not in self.columns:
                raise ValueError(f"key column {k!r} is not one of the columns")
        for c in (*self.checks, *self.attribute_priority):
            if c not in self.columns:
                raise ValueError(f"{c!r} is not one of the columns")
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"two sources with the same dataset and role: {names}")
        datasets = {s.dataset for s in self.sources}
        for ds in (*self.priority, *(d for p in self.attribute_priority.values() for d in p)):
            if ds not in datasets:
                raise ValueError(f"priority names {ds!r}, which is not a source of the table")
        for s in self.sources:
            for c in s.columns:
                if c not in self.columns:
                    raise ValueError(f"source {s.name}: {c!r} is not one of the columns")
            for k in self.key:
                if k not in s.columns:
                    raise ValueError(f"source {s.name} does not map the key column {k!r}")
            if s.explode and s.explode not in {s.field_of(k) for k in self.key}:
                raise ValueError(f"source {s.name}: explode field {s.explode!r} must map a key column")
        return self

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.key)

    def priority_of(self, column: str) -> tuple[str, ...]:
        return self.attribute_priority.get(column, self.priority)


class BaseConfig(Strict):
    tables: dict[Annotated[str, Field(pattern=NAME)], TableSpec]

    def table(self, name: str) -> TableSpec:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no base table {name!r} (known: {', '.join(self.tables)})") from None

    def tables_fed_by(self, dataset_id: str) -> tuple[str, ...]:
        """The base tables a dataset feeds, sorted (the order merges take their locks in)."""
        return tuple(sorted(t for t, spec in self.tables.items() if any(s.dataset == dataset_id for s in spec.sources)))


def _validate_against_catalogue(config: BaseConfig, cat: Catalogue) -> None:
    for tname, spec in config.tables.items():
        for s in spec.sources:
            try:
                entry = cat.entry(s.dataset)
            except KeyError as exc:
                raise BaseConfigError(f"{TABLES_YAML}: table {tname}, source {s.name}: {exc.args[0]}") from None
            schema = standard_schema(entry.dataset)
            missing = sorted(f for f in s.fields_used() if f not in schema.names)
            if missing:
                raise BaseConfigError(
                    f"{TABLES_YAML}: table {tname}, source {s.name}: fields {missing} are not in the standardised "
                    f"schema of {s.dataset}"
                )


def load_base_config(path: Path = TABLES_YAML, cat: Catalogue | None = None) -> BaseConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BaseConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        raise BaseConfigError(f"{path}: expected a mapping with 'tables'")
    for name, table in raw["tables"].items():
        if isinstance(table, dict):
            table.setdefault("name", name)
    try:
        config = BaseConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise BaseConfigError(f"{path}: {problems}") from None
    _validate_against_catalogue(config, cat or catalogue())
    return config


@cache
def base_config() -> BaseConfig:
    """The project's base-table configuration, loaded once."""
    return load_base_config()


@dataclass(frozen=True)
class TableLineage:
    """Where a base table comes from: its source datasets and, per column, the (dataset, standard field) pairs."""

    table: str
    datasets: tuple[str, ...]
    columns: dict[str, list[tuple[str, str]]]


KEY_STANDARDS = {
    "resident_id": "a valid GB 11643 resident ID",
    "uscc": "a valid GB 32100 unified social credit code",
    "plate": "a plate of the GA 36 patterns",
}


def column_description(table: str, column: str, config: BaseConfig | None = None) -> str:
    """What a base column means and how its value is chosen, in words, from ``tables.yaml`` and the catalogue:
    the standard field's title, the key's standard, or the survivorship (source priority, then recency) and the
    sources that feed it. Shown in the UI's column schema."""
    config = config or base_config()
    spec = config.table(table)
    fields = {(e.id, f.name): f for e in catalogue().entries for f in e.dataset.fields}
    feeding = [(s, s.field_of(column)) for s in spec.sources if column in s.columns]
    titles = list(dict.fromkeys(t for s, f in feeding if f and (t := getattr(fields.get((s.dataset, f)), "title", ""))))
    constants = sorted({m.const for s in spec.sources for c, m in s.columns.items() if c == column
                        and isinstance(m, Const)})
    meaning = " / ".join(titles[:2]) or (f"constant per source: {', '.join(constants)}" if constants else column)
    named = ", ".join(f"{s.name}.{f}" if f else f"{s.name} (constant)" for s, f in feeding)
    if column in spec.key:
        standard = KEY_STANDARDS.get(spec.key_standard or "", "")
        return (f"{meaning} — the natural key" + (f"; only {standard} makes or updates a record" if standard else "")
                + f". From: {named}")
    if len({s.dataset for s, _ in feeding}) == 1:
        return (f"{meaning} — one source: its newest version as of the day wins (update time, then delivery day). "
                f"From: {named}")
    ranked = spec.priority_of(column)
    rule = (" > ".join(ranked) + ", then any other source; mentions (placeholders) last") if ranked else (
        "every source alike; mentions (placeholders) last")
    return (f"{meaning} — survivorship: the non-null value of the highest-priority source wins ({rule}); ties by "
            f"recency (update time, then delivery day). From: {named}")


def lineage(config: BaseConfig | None = None) -> dict[str, TableLineage]:
    """Per base table: its source datasets (sorted) and column lineage base column -> [(dataset_id, field)].

    Constants (e.g. ``cert_type`` = ``driving_licence``) have no source field and are left out; the bookkeeping
    columns (provenance, placeholder, validity) derive from every source.
    """
    config = config or base_config()
    out: dict[str, TableLineage] = {}
    for tname, spec in config.tables.items():
        columns: dict[str, list[tuple[str, str]]] = {c: [] for c in spec.columns}
        for s in spec.sources:
            for c in s.columns:
                f = s.field_of(c)
                if f is not None and (s.dataset, f) not in columns[c]:
                    columns[c].append((s.dataset, f))
        out[tname] = TableLineage(tname, tuple(sorted({s.dataset for s in spec.sources})), columns)
    return out
