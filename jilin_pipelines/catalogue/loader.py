"""Load the catalogue: every ``<department>.yaml`` beside this module, validated into typed models.

A broken catalogue fails at load with a ``CatalogueError`` naming the file, the dataset entry and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from jilin_pipelines.catalogue.models import Dataset, Department

CATALOGUE_DIR = Path(__file__).parent


class CatalogueError(ValueError):
    """The catalogue cannot be loaded; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One dataset of the catalogue with the department it belongs to."""

    department: Department
    dataset: Dataset

    @property
    def id(self) -> str:
        """``<department>.<dataset>``, the dataset's name everywhere outside Dagster."""
        return f"{self.department.department}.{self.dataset.name}"


@dataclass(frozen=True)
class Catalogue:
    departments: tuple[Department, ...]

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(Entry(dep, ds) for dep in self.departments for ds in dep.datasets)

    def entry(self, dataset_id: str) -> Entry:
        for e in self.entries:
            if e.id == dataset_id:
                return e
        raise KeyError(f"no dataset {dataset_id!r} in the catalogue (known: {', '.join(e.id for e in self.entries)})")


def _where(file: Path, raw: dict, loc: tuple) -> str:
    """Turn a pydantic error location into 'dataset X, field Y' using the names in the YAML."""
    parts: list[str] = []
    node = raw
    for i, step in enumerate(loc):
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            parts.append(".".join(str(s) for s in loc[i:]))
            break
        if isinstance(step, int) and isinstance(node, dict):
            label = node.get("name") or node.get("source") or f"#{step + 1}"
            if node.get("name") and node.get("source"):
                label = f"{node['name']} ({node['source']})"
            kind = {"datasets": "dataset", "fields": "field"}.get(str(loc[i - 1]), "entry") if i else "entry"
            parts.append(f"{kind} {label}")
        elif not isinstance(step, int) and step not in ("datasets", "fields"):
            parts.append(str(step))
    return ", ".join(parts)


def load_department(file: Path) -> Department:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{file}: expected a mapping with 'department' and 'datasets'")
    try:
        dep = Department.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(file, raw, tuple(e['loc'])) or 'top level'}: {e['msg']}" for e in exc.errors())
        raise CatalogueError(f"{file}: {problems}") from None
    if dep.department != file.stem:
        raise CatalogueError(f"{file}: department {dep.department!r} does not match the file name {file.stem!r}")
    return dep


def load_catalogue(directory: Path = CATALOGUE_DIR) -> Catalogue:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CatalogueError(f"{directory}: no catalogue files (*.yaml)")
    return Catalogue(tuple(load_department(f) for f in files))


@cache
def catalogue() -> Catalogue:
    """The project's catalogue, loaded once."""
    return load_catalogue()
