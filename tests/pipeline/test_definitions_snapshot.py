"""The graph as reviewed: every asset key with its group, kinds, upstream, partitions, backfill policy, automation and
checks, every job, schedule, sensor and resource, compared with the committed ``definitions_snapshot.json`` (as
dagster-open-platform keeps its ``test_defs`` snapshot). A change to the graph fails here until the snapshot is
regenerated — ``JILIN_UPDATE_SNAPSHOT=1 pytest tests/pipeline/test_definitions_snapshot.py`` — so it shows in review
as a diff of that file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from jilin_pipelines.definitions import defs

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def _partitions(p: dg.PartitionsDefinition | None) -> str | None:
    if p is None:
        return None
    if isinstance(p, dg.DailyPartitionsDefinition):
        return f"daily from {p.start.date().isoformat()} ({p.timezone})"
    return type(p).__name__


def snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    checks: dict[str, list[str]] = {}
    for check in graph.asset_check_keys:
        checks.setdefault(check.asset_key.to_user_string(), []).append(check.name)
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        name = key.to_user_string()
        assets[name] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "materializable": node.is_materializable,
            "upstream": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
            "checks": sorted(checks.get(name, [])),
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in definitions.jobs),
        "schedules": {s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone,
                               "default_status": s.default_status.value}
                      for s in sorted(definitions.schedules, key=lambda s: s.name)},
        "sensors": {s.name: {"kind": type(s).__name__, "default_status": s.default_status.value}
                    for s in sorted(definitions.sensors, key=lambda s: s.name)},
        "resources": sorted(definitions.resources),
    }


def test_the_definitions_match_the_reviewed_snapshot():
    now = snapshot(defs)
    if os.environ.get("JILIN_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(now, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    reviewed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert now["assets"].keys() == reviewed["assets"].keys(), (
        sorted(now["assets"].keys() - reviewed["assets"].keys()), sorted(reviewed["assets"].keys() - now["assets"].keys()))
    changed = {k: (reviewed["assets"][k], v) for k, v in now["assets"].items() if v != reviewed["assets"][k]}
    assert changed == {}
    for part in ("jobs", "schedules", "sensors", "resources"):
        assert now[part] == reviewed[part], part
