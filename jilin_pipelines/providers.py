"""The provider registry: which departments, at which of the five levels, deliver which datasets.

A dataset of the catalogue has one provider (its department, today's layout: ``<root>/<department>/<dataset>/
<dataset>_YYYYMMDD.<ext>``) or many, listed here; each of many delivers under its own code:
``<root>/<department>/<dataset>/<provider code>/<dataset>_YYYYMMDD.<ext>`` (over HTTP: ``?provider=<code>``; a
front-end database: the provider's own, ``raw.frontdb_url``).
Providers are data, not definitions: a thousand county bureaus are a thousand lines of YAML, and Dagster sees them
inside a dataset's daily partition (README, "Many providers").

The registry is a YAML file (``JILIN_PROVIDERS``; default ``<sources>/providers.yaml`` when there is one)::

    providers:
      - {code: "220000", division: "220000", level: province, name: 吉林省民政厅}
      - {code: "220100", division: "220100", level: city, name: 长春市民政局, parent: "220000"}
      - {code: "220102", division: "220102", level: county, name: 南关区民政局, parent: "220100",
         datasets: [social_security.assistance_applications], update_time: "05:30"}

Validated at load, each error naming the file and the entry: codes unique and path-safe, the division a GB/T 2260
code (six digits; a township's nine and a village's twelve begin with their county's), the level one of
:data:`LEVELS`, the parent registered, one level or more above and its division a prefix of the child's, the
datasets in the catalogue, the update time ``HH:MM`` (default: the dataset's in the catalogue).

Pure: no Dagster import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

from jilin_pipelines.catalogue import catalogue

LEVELS = ("province", "city", "county", "township", "village")
"""The five levels of government, from the top: the order the quality roll-up climbs."""

REGISTRY_FILE = "providers.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: a registry of thousands loads in milliseconds
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DIVISION_DIGITS = {"province": 6, "city": 6, "county": 6, "township": 9, "village": 12}
#: how many leading digits of a division code name the division at each level (a child's code begins with them)
_PREFIX = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


class RegistryError(ValueError):
    """The provider registry cannot be loaded; the message names the file and the entry."""


@dataclass(frozen=True)
class Provider:
    code: str
    division: str
    level: str
    name: str
    parent: str | None = None
    datasets: tuple[str, ...] = ()
    update_time: str | None = None  # None: each dataset's own, from the catalogue

    def update_time_of(self, dataset_id: str) -> str:
        """When this provider's delivery of ``dataset_id`` is due each day ("HH:MM" Asia/Shanghai)."""
        return self.update_time or catalogue().entry(dataset_id).dataset.update_time


@dataclass(frozen=True)
class Registry:
    providers: Mapping[str, Provider] = field(default_factory=dict)
    source: str = "(none)"

    @cached_property
    def _by_dataset(self) -> dict[str, tuple[Provider, ...]]:
        out: dict[str, list[Provider]] = {}
        for p in sorted(self.providers.values(), key=lambda p: p.code):
            for ds in p.datasets:
                out.setdefault(ds, []).append(p)
        return {ds: tuple(ps) for ds, ps in out.items()}

    def of(self, dataset_id: str) -> tuple[Provider, ...]:
        """The providers that deliver ``dataset_id`` under their own code, by code; () when the dataset has its one
        provider (today's layout)."""
        return self._by_dataset.get(dataset_id, ())

    def codes(self, dataset_id: str) -> tuple[str, ...]:
        return tuple(p.code for p in self.of(dataset_id))

    def multi(self, dataset_id: str) -> bool:
        return bool(self.of(dataset_id))

    def ancestors(self, code: str) -> list[Provider]:
        """The provider and every provider above it, nearest first."""
        chain, seen = [], set()
        p = self.providers.get(code)
        while p is not None and p.code not in seen:
            chain.append(p)
            seen.add(p.code)
            p = self.providers.get(p.parent) if p.parent else None
        return chain


EMPTY = Registry()


def _fail(path: Path, where: str, message: str):
    raise RegistryError(f"{path}: {where}: {message}")


def _division_valid(codes: list[str]) -> list[bool]:
    from jilin_pipelines.standards.divisions import validate_division

    return validate_division(pd.Series([c[:6] for c in codes], dtype="string")).valid.fillna(False).tolist()


def parse_registry(raw: object, path: Path) -> Registry:
    if not isinstance(raw, dict) or not isinstance(raw.get("providers"), list):
        _fail(path, "top level", "expected a mapping with a list 'providers'")
    known = {e.id: e for e in catalogue().entries}
    providers: dict[str, Provider] = {}
    for i, item in enumerate(raw["providers"]):
        where = f"provider #{i + 1}" + (f" ({item.get('code')})" if isinstance(item, dict) and item.get("code") else "")
        if not isinstance(item, dict):
            _fail(path, where, "expected a mapping")
        unknown = sorted(set(item) - {"code", "division", "level", "name", "parent", "datasets", "update_time"})
        if unknown:
            _fail(path, where, f"unknown key(s) {', '.join(unknown)}")
        code, division, level = (str(item.get(k) or "") for k in ("code", "division", "level"))
        if not _CODE.match(code):
            _fail(path, where, f"code {code!r}: 1-32 letters, digits, '_' or '-' (it names a folder)")
        if code in providers:
            _fail(path, where, f"code {code} is registered twice")
        if level not in LEVELS:
            _fail(path, where, f"level {level!r}: expected one of {', '.join(LEVELS)}")
        if not (division.isdigit() and len(division) == _DIVISION_DIGITS[level]):
            _fail(path, where, f"division {division!r}: a {level} has a {_DIVISION_DIGITS[level]}-digit code")
        if not str(item.get("name") or "").strip():
            _fail(path, where, "name is missing")
        datasets = item.get("datasets") or []
        if not isinstance(datasets, list):
            _fail(path, where, "datasets: expected a list of catalogue dataset ids")
        for ds in datasets:
            if ds not in known:
                _fail(path, where, f"dataset {ds!r} is not in the catalogue")
        update = item.get("update_time")
        if update is not None and not _TIME.match(str(update)):
            _fail(path, where, f"update_time {update!r}: expected HH:MM")
        parent = item.get("parent")
        providers[code] = Provider(code, division, level, str(item["name"]).strip(),
                                   None if parent in (None, "") else str(parent), tuple(sorted(set(datasets))),
                                   None if update is None else str(update))
    valid = dict(zip(providers, _division_valid([p.division for p in providers.values()]), strict=True))
    for p in providers.values():
        where = f"provider {p.code}"
        if not valid[p.code]:
            _fail(path, where, f"division {p.division}: {p.division[:6]} is no GB/T 2260 code")
        if p.parent is None:
            continue
        parent = providers.get(p.parent)
        if parent is None:
            _fail(path, where, f"parent {p.parent} is not registered")
        if LEVELS.index(parent.level) > LEVELS.index(p.level):
            _fail(path, where, f"parent {parent.code} is a {parent.level}, below this {p.level}")
        prefix = _PREFIX[parent.level] if parent.level != "province" else 2
        if not p.division.startswith(parent.division[:prefix]):
            _fail(path, where, f"division {p.division} does not lie in its parent {parent.code}'s {parent.division}")
    registry = Registry(providers, str(path))
    for p in providers.values():  # a cycle of parents has no top
        if registry.ancestors(p.code)[-1].parent is not None:
            _fail(path, f"provider {p.code}", "its parents form a cycle")
    return registry


def load_registry(path: Path) -> Registry:
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except OSError as exc:
        raise RegistryError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not YAML: {exc}") from None
    return parse_registry(raw, path)


_CACHE: dict[tuple[str, float, int], Registry] = {}


def registry_path(sources_dir: Path, configured: Path | None = None) -> Path | None:
    """The registry in force: ``configured`` (``JILIN_PROVIDERS``), else ``<sources>/providers.yaml`` if present."""
    if configured is not None:
        return Path(configured)
    default = Path(sources_dir) / REGISTRY_FILE
    return default if default.is_file() else None


def registry_for(sources_dir: Path, configured: Path | None = None) -> Registry:
    """The registry of a sources directory (:data:`EMPTY`: every dataset has its one provider); loaded once per
    file version."""
    path = registry_path(sources_dir, configured)
    if path is None:
        return EMPTY
    try:
        stat = path.stat()
    except OSError:
        raise RegistryError(f"{path}: the provider registry (JILIN_PROVIDERS) does not exist") from None
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_registry(path)
    return _CACHE[key]


def write_registry(path: Path, providers: Iterable[Provider]) -> None:
    """Write a registry file (the sample generator's), one flow-style line per provider."""
    lines = ["# The provider registry: who delivers which dataset (jilin_pipelines/providers.py).", "providers:"]
    for p in providers:
        item = {"code": p.code, "division": p.division, "level": p.level, "name": p.name}
        if p.parent:
            item["parent"] = p.parent
        if p.datasets:
            item["datasets"] = list(p.datasets)
        if p.update_time:
            item["update_time"] = p.update_time
        text = yaml.safe_dump(item, allow_unicode=True, default_flow_style=True, width=10_000, sort_keys=False)
        lines.append("  - " + text.strip())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
