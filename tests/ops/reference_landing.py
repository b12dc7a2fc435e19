"""Land days of the main job in-process (no webserver, no daemon) and write the lake's inventory as JSON:
the reference the end-to-end backfill must equal. Run as a script so that it can work in a process of its
own while the deployment under test starts and its daemon waits between iterations.

    python reference_landing.py <out.json> <day> [<day> ...]    (settings from the environment)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg

from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from lake import lake_inventory  # noqa: E402

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main(out: Path, days: list[str]) -> int:
    settings = Settings.from_env()
    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        for day in days:
            result = job.execute_in_process(partition_key=day, instance=instance, run_config=QUIET, raise_on_error=False)
            if not result.success:
                print(f"the in-process landing of {day} failed", file=sys.stderr)
                return 1
    out.write_text(json.dumps(lake_inventory(settings.data_dir), ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
