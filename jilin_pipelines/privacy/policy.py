"""Sharing classes enforced: a scenario may read a base-table column only if every catalogue dataset behind it
shares that data with the scenario's purpose (and consumer).

The rules (GB/T 21063 sharing classes, as the catalogue states them per dataset):

* ``unconditional`` (无条件共享) — any purpose, any consumer;
* ``conditional`` (有条件共享) — only for a purpose in the dataset's ``allowed_purposes`` and, when the dataset
  lists ``allowed_consumers``, only for one of those consumers (a read naming no consumer is then refused);
* ``not_shared`` (不予共享) — never.

A base-table column is backed by the (dataset, standard field) pairs that ``catalogue/base/tables.yaml`` maps onto
it (``base.lineage()``), *including reference sources*: a placeholder person created from a traffic violation's
driver ID reveals that ID to whoever reads ``person.id_number``. A constant column (``certificate.cert_type``) and
the bookkeeping columns (``placeholder``, ``provenance``, ``_valid_from`` ... and, in ``<t>_source_version``,
``_dataset``, ``_partition`` ...) reveal which sources a record came from, so they are checked against the datasets of
every source of the table, without adding a field to the audit.

A scenario that reads one dataset's delivered versions of a table declares it as ``table@dataset``
(``person@traffic_police.driving_licences``): only that dataset is checked. A scenario that takes only some sources'
contributions from a table otherwise (it filters golden attributes on their ``provenance``) says so with
``sources={table: [dataset_id or dataset:role, ...]}``. Reading a column none of the named sources maps is refused.

Pure: no Dagster import. ``check_scenario`` (``check_reads`` over a scenario's declared reads, in the policy's
terms: ``scenario_reads``) is what definition loading calls per scenario.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from jilin_pipelines.base.config import BaseConfig, SourceSpec, base_config
from jilin_pipelines.base.schema import (
    PLACEHOLDER,
    PROVENANCE,
    RECORD_HASH,
    VALID_FROM,
    VALID_TO,
    VERSION_META,
    VERSION_SUFFIX,
)
from jilin_pipelines.catalogue import Catalogue, SharingClass, catalogue
from jilin_pipelines.quality.layout import standard_schema
from jilin_pipelines.scenarios.core import DELIVERY_META, KEY_META, Scenario
from jilin_pipelines.scenarios.store import input_dataset

GOLDEN_BOOKKEEPING = (PLACEHOLDER, PROVENANCE, VALID_FROM, VALID_TO, RECORD_HASH)
_PLAIN = re.compile(r"^[a-z][a-z0-9_]*$")


class SharingPolicyError(ValueError):
    """A scenario reads data its purpose (or consumer) may not see, or data the base tables do not have.

    The message names the scenario, each base table column, the dataset and field behind it and the rule broken;
    ``violations`` holds the same as :class:`Violation` records.
    """

    def __init__(self, message: str, violations: Sequence[Violation] = ()):
        super().__init__(message)
        self.violations = tuple(violations)


@dataclass(frozen=True)
class Violation:
    table: str
    column: str | None
    dataset: str | None
    field: str | None
    rule: str

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column is not None else self.table
        if self.dataset is None:
            return f"{where}: {self.rule}"
        behind = f"dataset {self.dataset}" + (f", field {self.field}" if self.field else "")
        return f"{where} (from {behind}): {self.rule}"


@dataclass(frozen=True)
class _Backing:
    """One source of a column: the dataset, the standard field (None for a constant or bookkeeping column)."""

    dataset: str
    field: str | None


def _backing(spec_sources: Iterable[SourceSpec], column: str, bookkeeping: bool) -> list[_Backing]:
    out: list[_Backing] = []
    for s in spec_sources:
        if bookkeeping:
            b = _Backing(s.dataset, None)
        elif column in s.columns:
            b = _Backing(s.dataset, s.field_of(column))
        else:
            continue
        if b not in out:
            out.append(b)
    return out


def _rule_broken(cat: Catalogue, dataset_id: str, field: str | None, purpose: str, consumer: str | None) -> str | None:
    try:
        entry = cat.entry(dataset_id)
    except KeyError:
        return f"dataset {dataset_id!r} is not in the catalogue"
    ds = entry.dataset
    if field is not None and field not in standard_schema(ds).names:  # catalogue fields, derived ones, _warnings
        return f"field {field!r} is not a field of {dataset_id}'s standardised schema"
    basis = f" (legal basis: {ds.legal_basis})" if ds.legal_basis else ""
    if ds.sharing_class is SharingClass.not_shared:
        return f"the dataset is not shared (不予共享){basis}: no purpose may read it"
    if ds.sharing_class is SharingClass.conditional:
        if purpose not in ds.allowed_purposes:
            return (
                f"the dataset is conditionally shared (有条件共享) for the purposes {list(ds.allowed_purposes)} only, "
                f"not for {purpose!r}{basis}"
            )
        if ds.allowed_consumers:
            if consumer is None:
                return (
                    f"the dataset is conditionally shared with the consumers {list(ds.allowed_consumers)} only, "
                    f"and the read names no consumer{basis}"
                )
            if consumer not in ds.allowed_consumers:
                return (
                    f"the dataset is conditionally shared with the consumers {list(ds.allowed_consumers)} only, "
                    f"not with {consumer!r}{basis}"
                )
    return None


def check_reads(
    scenario: str,
    purpose: str,
    reads: Mapping[str, Sequence[str]],
    consumer: str | None = None,
    *,
    sources: Mapping[str, Sequence[str]] | None = None,
    cat: Catalogue | None = None,
    config: BaseConfig | None = None,
) -> list[tuple[str, str]]:
    """Check a scenario's declared reads against the sharing classes; return the (dataset_id, field) pairs read.

    ``reads`` maps a base table to the columns the scenario reads: ``person`` (the golden records),
    ``person_source_version`` (every delivered version) or ``person@traffic_police.driving_licences`` (only that
    dataset's delivered versions). ``sources`` optionally narrows, per ``reads`` key, the source datasets (or
    ``dataset:role``) whose contributions the scenario takes (see the module docstring). Every problem is
    collected; one :class:`SharingPolicyError` names them all (scenario, ``table.column``, dataset and field,
    rule). The result is sorted and without repeats, ready for :func:`fields_by_dataset` and the audit log.
    """
    cat = cat or catalogue()
    config = config or base_config()
    _check_names(scenario, purpose, consumer, reads)
    sources = dict(sources or {})
    violations = [Violation(table, None, None, None, "sources are named for a table the scenario does not read")
                  for table in sources if table not in reads]
    pairs: set[tuple[str, str]] = set()
    for table, columns in reads.items():
        violations += _check_table(scenario, table, columns, sources, purpose, consumer, cat, config, pairs)
    if violations:
        lines = "\n".join(f"  - {v.describe()}" for v in violations)
        who = f", consumer {consumer}" if consumer else ""
        raise SharingPolicyError(
            f"scenario {scenario} (purpose {purpose}{who}) may not read what it declares:\n{lines}", violations
        )
    return sorted(pairs)


def _check_names(scenario: str, purpose: str, consumer: str | None, reads: Mapping[str, Sequence[str]]) -> None:
    """The scenario, its purpose and consumer must be plain names, and it must declare reads."""
    for label, value in (("scenario", scenario), ("purpose", purpose)):
        if not isinstance(value, str) or not _PLAIN.match(value):
            raise SharingPolicyError(f"scenario {scenario!r}: {label} {value!r} is not a plain name")
    if consumer is not None and (not isinstance(consumer, str) or not _PLAIN.match(consumer)):
        raise SharingPolicyError(f"scenario {scenario}: consumer {consumer!r} is not a plain name")
    if not reads:
        raise SharingPolicyError(f"scenario {scenario}: declares no reads")


def _check_table(scenario: str, table: str, columns: Sequence[str], sources: Mapping[str, Sequence[str]],
                 purpose: str, consumer: str | None, cat: Catalogue, config: BaseConfig,
                 pairs: set[tuple[str, str]]) -> list[Violation]:
    """The violations of one declared read (``table``, ``table_source_version`` or ``table@dataset`` and its
    columns); the (dataset, field) pairs it may read are added to ``pairs``."""
    name, _, only = table.partition("@")
    base = name.removesuffix(VERSION_SUFFIX)
    spec = config.tables.get(base)
    if spec is None:
        return [Violation(table, None, None, None, f"unknown base table (known: {', '.join(config.tables)})")]
    if isinstance(columns, str):
        raise SharingPolicyError(
            f"scenario {scenario}: the columns of {table} must be a list, not the string {columns!r}"
        )
    violations: list[Violation] = []
    bookkeeping = set(VERSION_META if name != base or only else GOLDEN_BOOKKEEPING)
    chosen, wanted = list(spec.sources), []
    if only and table in sources:
        violations.append(Violation(table, None, None, None, "names its source twice (@dataset and sources)"))
    if only or table in sources:
        wanted = [only] if only else list(sources[table])
        names = {s.dataset for s in spec.sources} | {s.name for s in spec.sources}
        violations += [Violation(table, None, w, None, f"{w} is not a source of {base}")
                       for w in wanted if w not in names]
        chosen = [s for s in spec.sources if s.dataset in wanted or s.name in wanted]
    if not columns:
        violations.append(Violation(table, None, None, None, "no columns declared"))
    for column in columns:
        is_bookkeeping = column in bookkeeping
        if not is_bookkeeping and column not in spec.columns:
            violations.append(Violation(table, column, None, None, f"unknown column of {base} "
                                        f"(columns: {', '.join([*spec.columns, *sorted(bookkeeping)])})"))
            continue
        backing = _backing(chosen, column, is_bookkeeping)
        if not backing:
            violations.append(Violation(table, column, None, None, f"none of the named sources {wanted} supplies it"))
            continue
        for b in backing:
            why = _rule_broken(cat, b.dataset, b.field, purpose, consumer)
            if why is not None:
                violations.append(Violation(table, column, b.dataset, b.field, why))
            elif b.field is not None:
                pairs.add((b.dataset, b.field))
    return violations


def fields_by_dataset(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``[(dataset, field), ...]`` -> ``{dataset: [field, ...]}`` (sorted), e.g. for one audit entry per dataset."""
    out: dict[str, set[str]] = {}
    for dataset, field in pairs:
        out.setdefault(dataset, set()).add(field)
    return {d: sorted(fs) for d, fs in sorted(out.items())}


def personal_fields(pairs: Iterable[tuple[str, str]], cat: Catalogue | None = None) -> list[tuple[str, str]]:
    """The pairs whose catalogue field is personal information (PIPL art. 28): what must be masked or pseudonymised."""
    cat = cat or catalogue()
    out = []
    for dataset, field in pairs:
        ds = cat.entry(dataset).dataset
        if any(f.name == field and f.personal for f in ds.fields):  # derived and bookkeeping fields are not personal
            out.append((dataset, field))
    return sorted(set(out))


def scenario_reads(s: Scenario) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A scenario's declared reads in the policy's terms: golden tables with the bookkeeping columns the loader
    adds; ``table@dataset`` (and the scenario's inputs, the input dataset's rows of the day) as
    ``<table>_source_version`` narrowed to that dataset. Returns ``(reads, sources)`` for :func:`check_reads`."""
    reads: dict[str, list[str]] = {}
    sources: dict[str, list[str]] = {}
    declared = dict(s.reads)
    if s.input is not None:
        declared[f"{s.input}@{input_dataset(s.input)}"] = s.input_columns
    for name, columns in declared.items():
        table, _, dataset = name.partition("@")
        if dataset:
            key = f"{table}_source_version"
            reads.setdefault(key, list(DELIVERY_META))
            sources.setdefault(key, []).append(dataset)
        else:
            key = table
            reads.setdefault(key, list(KEY_META))
        reads[key] += [c for c in columns if c not in reads[key]]
    return reads, sources


def check_scenario(s: Scenario) -> list[tuple[str, str]]:
    """:func:`check_reads` of a scenario's declaration (name, purpose, consumer, reads)."""
    reads, sources = scenario_reads(s)
    return check_reads(s.name, s.purpose, reads, s.consumer, sources=sources)
