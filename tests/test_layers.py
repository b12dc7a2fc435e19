"""The package's layers, as the README's architecture draws them: the data flows sources → raw → quality → base →
scenarios → fairness → serving, and no module imports one further down that flow; the shared modules (standards,
catalogue, settings, lake, engines, providers, reports, alerts, memory, the redaction service, the pseudonyms)
import none of the flow; lineage and the sharing policy, which describe and guard every layer, are imported by none
of it; only the Dagster layer (``defs/``, ``definitions.py``) and the entry points that drive it (``runner.py``,
``cli.py``) import Dagster. A new import against the flow fails here, with the module and what it imports."""

from __future__ import annotations

import ast
from pathlib import Path

import jilin_pipelines

ROOT = Path(jilin_pipelines.__file__).parent
FLOW = ("sources", "raw", "quality", "base", "scenarios", "fairness", "serving")
SHARED = ("standards", "catalogue", "settings", "lake", "engines", "providers", "reports", "alerts", "memory",
          "privacy.redaction", "privacy.pseudonym")
# privacy's modules where they sit: the redaction and the pseudonyms are shared services; the audit log is a table of
# the serving database beside the base's (every later layer enters its reads); the policy reads the scenarios'
# declarations, beside the flow
PLACED = {"privacy.redaction": "privacy.redaction", "privacy.pseudonym": "privacy.pseudonym", "privacy.audit": "base"}
# services that describe or guard every layer, read by the Dagster layer and the entry points only
BESIDE = ("lineage", "privacy")
DAGSTER_LAYER = ("defs", "definitions", "runner", "cli")
# the one documented exception: the quality layer records its verdicts (the quarantine, the holds) in the serving
# database, whose tables are declared with the base's (base/schema.py, base/quarantine.py)
ALLOWED = {("quality", "base.schema"), ("quality", "base.quarantine")}


def _modules() -> dict[str, set[str]]:
    """Each module of the package (dotted, without the package) -> the package modules and outside packages it
    imports."""
    out = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        out[name] = imported
    return out


def _unit(module: str) -> str:
    """The layer a module belongs to: :data:`PLACED`, else its first part."""
    return PLACED.get(".".join(module.split(".")[:2]), module.split(".")[0])


def _own(imported: str) -> str | None:
    return imported.removeprefix("jilin_pipelines.") if imported.startswith("jilin_pipelines.") else None


def test_no_import_runs_against_the_data_flow():
    against = []
    for module, imports in sorted(_modules().items()):
        unit = _unit(module)
        for target in filter(None, map(_own, imports)):
            to = _unit(target)
            if to == unit or (unit.split(".")[0], ".".join(target.split(".")[:2])) in ALLOWED:
                continue
            if unit in SHARED:
                ok = to in SHARED
            elif unit in FLOW:
                ok = to in SHARED or (to in FLOW and FLOW.index(to) < FLOW.index(unit))
            elif unit in BESIDE:
                ok = to not in DAGSTER_LAYER and to not in BESIDE
            else:
                ok = True  # the Dagster layer and the entry points
            if not ok:
                against.append(f"{module} imports {target}")
    assert against == []


def test_only_the_dagster_layer_imports_dagster():
    users = sorted(m for m, imports in _modules().items()
                   if any(i == "dagster" or i.startswith(("dagster.", "dagster_")) for i in imports))
    assert users and all(_unit(m) in DAGSTER_LAYER for m in users), users


def test_every_module_has_a_layer():
    """A new top-level module must be placed in the drawing above (here and in the README)."""
    known = set(FLOW) | set(SHARED) | set(BESIDE) | set(DAGSTER_LAYER) | {"db", "__init__", ""}
    assert sorted({_unit(m) for m in _modules()} - known) == []
