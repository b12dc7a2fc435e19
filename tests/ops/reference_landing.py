"""Materialise days of a scenario and its upstream assets in-process (no webserver, no daemon), one day after the
other as the daily runs would, and write the lake's inventory and the base database's snapshot as JSON: the
reference the end-to-end backfill must equal. Run as a script so that it can work in a process of its own while
the deployment under test starts and its daemon waits between iterations.

    python reference_landing.py <out.json> <asset key> <day> [<day> ...]    (settings from the environment)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg

from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from basedb import base_snapshot  # noqa: E402
from lake import lake_inventory  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def selection(defs: dg.Definitions, key: str) -> list[dg.AssetKey]:
    """The asset and everything upstream of it that the platform materialises (not the deliveries themselves)."""
    graph = defs.resolve_asset_graph()
    upstream = dg.AssetSelection.assets(dg.AssetKey.from_user_string(key)).upstream().resolve(graph)
    return sorted(upstream & graph.materializable_asset_keys, key=str)


def main(out: Path, key: str, days: list[str]) -> int:
    settings = Settings.from_env()
    defs = build_definitions(settings)
    job = defs.resolve_job_def(MAIN_JOB)
    keys = selection(defs, key)
    with dg.DagsterInstance.ephemeral() as instance:
        for day in days:
            result = job.execute_in_process(
                partition_key=day, instance=instance, run_config=QUIET, asset_selection=keys, raise_on_error=False
            )
            if not result.success:
                print(f"the in-process run of {day} failed", file=sys.stderr)
                return 1
    reference = {"lake": lake_inventory(settings.data_dir), "base": base_snapshot(settings.base_db_url)}
    out.write_text(json.dumps(reference, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
