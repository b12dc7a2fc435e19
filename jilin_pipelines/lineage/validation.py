"""OpenLineage events validated offline against the spec. No Dagster here.

Validation
----------
:func:`validate_event` checks an event against an OpenLineage spec
directory (``OpenLineage.json`` and ``facets/*.json``) and this package's own facet schemas, offline: the
schemas are put in a local ``referencing.Registry`` under their ``$id``s, so the ``https://openlineage.io``
references resolve to the local files. Each facet is also checked against the schema its ``_schemaURL``
names, under the key that schema defines.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jilin_pipelines.lineage.naming import OWN_FACET_GLOB, OWN_FACETS_DIR


# --- validation --------------------------------------------------------------------------------------


class LineageValidationError(ValueError):
    """An event does not conform to the OpenLineage spec; the message lists every problem with its path."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid OpenLineage event:\n" + "\n".join(f"  - {p}" for p in self.problems))


_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")


@cache
def _format_checker():
    """``date-time`` (RFC 3339, with offset), ``uri`` (absolute, RFC 3986 shape) and ``uuid``, stdlib only.

    jsonschema checks ``date-time`` and ``uri`` only with optional packages that are not installed and
    skips them silently otherwise; these checkers make the formats count.
    """
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.match(value):
            return False
        datetime.fromisoformat(f"{value[:10]}T{value[11:]}".upper().replace("Z", "+00:00"))  # a real day and time
        return True

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI.match(value))

    @checker.checks("uuid", raises=ValueError)
    def _uuid_format(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return str(uuid.UUID(value)) == value.lower() and value.count("-") == 4

    return checker


@dataclass(frozen=True)
class _Spec:
    registry: Any  # referencing.Registry
    facet_roots: dict[str, dict]  # schema document $id → the document
    core_id: str


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LineageValidationError([f"cannot read schema {path}: {exc}"]) from None


@cache
def _spec(spec_dir: str) -> _Spec:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    root = Path(spec_dir)
    core_file = root / "OpenLineage.json"
    if not core_file.is_file():
        raise LineageValidationError([f"no OpenLineage.json in {root} (the spec directory)"])
    core = _load_json(core_file)
    documents = [core]
    facet_files = sorted((root / "facets").glob("*.json")) + sorted(OWN_FACETS_DIR.glob(OWN_FACET_GLOB))
    documents += [_load_json(p) for p in facet_files]
    registry = Registry()
    facet_roots: dict[str, dict] = {}
    for doc in documents:
        doc_id = doc.get("$id")
        if not doc_id:
            raise LineageValidationError([f"a schema in {root} has no $id"])
        registry = registry.with_resource(doc_id, Resource.from_contents(doc, default_specification=DRAFT202012))
        if doc is not core:
            facet_roots[doc_id] = doc
    return _Spec(registry=registry.crawl(), facet_roots=facet_roots, core_id=core["$id"])


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the event)"


def _leaves(error) -> Iterable[Any]:
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _problems(schema: dict, instance: Any, spec: _Spec, prefix: Sequence[Any] = ()) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, registry=spec.registry, format_checker=_format_checker())
    found = []
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            found.append(f"at {_path([*prefix, *leaf.absolute_path])}: {leaf.message}")
    return sorted(dict.fromkeys(found))


_CONTAINERS = (  # (where the facets are, which base facet their schema must extend)
    ("run", "facets", ("RunFacet",)),
    ("job", "facets", ("JobFacet",)),
)
_DATASET_KINDS = ("DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")


def _facet_containers(event: Mapping[str, Any]) -> Iterable[tuple[list[Any], Mapping[str, Any], tuple[str, ...]]]:
    for owner, key, kinds in _CONTAINERS:
        facets = (event.get(owner) or {}).get(key)
        if isinstance(facets, Mapping):
            yield [owner, key], facets, kinds
    for role in ("inputs", "outputs"):
        for i, ds in enumerate(event.get(role) or ()):
            if not isinstance(ds, Mapping):
                continue
            for key in ("facets", "inputFacets" if role == "inputs" else "outputFacets"):
                if isinstance(ds.get(key), Mapping):
                    yield [role, i, key], ds[key], _DATASET_KINDS


def _facet_problems(event: Mapping[str, Any], spec: _Spec) -> list[str]:
    problems: list[str] = []
    for where, facets, kinds in _facet_containers(event):
        for name, facet in facets.items():
            at = _path([*where, name])
            url = facet.get("_schemaURL") if isinstance(facet, Mapping) else None
            if not isinstance(url, str):
                continue  # the envelope's validation reports it
            doc_id, _, pointer = url.partition("#")
            if doc_id == spec.core_id:  # a custom facet typed only by a base facet of the core spec
                base = pointer.rsplit("/", 1)[-1]
                if base not in kinds:
                    problems.append(f"at {at}: _schemaURL {url!r} is not one of {' or '.join(kinds)}")
                problems += _problems({"$ref": url}, facet, spec, [*where, name])
                continue
            doc = spec.facet_roots.get(doc_id)
            if doc is None:
                problems.append(f"at {at}: _schemaURL {url!r} names no schema of the local spec or of this package")
                continue
            defined = list((doc.get("properties") or {}))
            if name not in defined:
                problems.append(f"at {at}: the schema {doc_id} defines the facet {', '.join(defined)}, not {name!r}")
                continue
            target = url if pointer else f"{doc_id}#/properties/{name}"
            try:
                resolved = spec.registry.resolver().lookup(target).contents
            except Exception as exc:  # noqa: BLE001 - a bad pointer, reported with the facet's path
                problems.append(f"at {at}: _schemaURL {url!r} does not resolve: {exc}")
                continue
            base = _base_kind(resolved)
            if base is not None and base not in kinds:
                problems.append(f"at {at}: a {base} cannot stand among {_path(where)} (expected {' or '.join(kinds)})")
            problems += _problems({"$ref": target}, facet, spec, [*where, name])
            problems += _problems(doc, {name: facet}, spec, where)
    return problems


def _base_kind(schema: Mapping[str, Any]) -> str | None:
    for part in schema.get("allOf") or ():
        ref = part.get("$ref", "") if isinstance(part, Mapping) else ""
        if "OpenLineage.json#/$defs/" in ref:
            return ref.rsplit("/", 1)[-1]
    return None


def validate_event(event: Mapping[str, Any], spec_dir: str | os.PathLike[str]) -> None:
    """Raise :class:`LineageValidationError` unless ``event`` is a valid OpenLineage run event.

    ``spec_dir`` holds ``OpenLineage.json`` and ``facets/*.json``; nothing is fetched from the network. The
    event is checked against ``OpenLineage.json`` (whose RunEvent definition gives the readable messages),
    its ``schemaURL`` must name that spec, and every facet is checked against the schema its ``_schemaURL``
    names (the spec's facets and this package's own, ``lineage/*Facet.json``), under the facet key that
    schema defines, in a place its base facet allows (a run facet among the run's facets, ...).
    """
    spec = _spec(str(Path(spec_dir).resolve()))
    problems = _problems({"$ref": f"{spec.core_id}#/$defs/RunEvent"}, event, spec)
    if not problems and _problems({"$ref": spec.core_id}, event, spec):
        problems.append("at (the event): valid as a RunEvent but not as exactly one of RunEvent, DatasetEvent, JobEvent")
    url = event.get("schemaURL") if isinstance(event, Mapping) else None
    if isinstance(url, str) and url.partition("#")[0] != spec.core_id:
        problems.append(f"at schemaURL: {url!r} is not the spec in {spec_dir} ({spec.core_id})")
    if isinstance(event, Mapping):
        problems += _facet_problems(event, spec)
    if problems:
        raise LineageValidationError(list(dict.fromkeys(problems)))
