"""``jilin-pipelines run`` with ``JILIN_ENGINE=spark`` (Spark ``local[2]`` through dagster-pyspark's resource) over
the committed sample gives the database the embedded engine's run gives (the session's shared sample run): every
base table — golden records, validity, provenance, delivered versions —, every scenario decision and its
evidence, the fairness figures, the quarantine and the holds, row for row. Only what names a run or a moment
differs (run ids, audit times and their hash chain, surrogate row ids). Needs the spark extra and Java 17
(``.ci/run`` installs both); a machine without them fails here rather than skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from jilin_pipelines.scenarios import SCENARIOS
from jilin_pipelines.settings import CHECKOUT, Settings

pytestmark = pytest.mark.slow

# what names a run or a moment rather than the data: left out of the comparison
VOLATILE = {"id", "run_id", "time", "prev_hash", "entry_hash", "held_at"}


def rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows without the volatile columns, sorted."""
    engine = sa.create_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for name in sorted(inspector.get_table_names()):
                columns = [c["name"] for c in inspector.get_columns(name) if c["name"] not in VOLATILE]
                listed = ", ".join(f'"{c}"' for c in columns)
                found = conn.exec_driver_sql(f'SELECT {listed} FROM "{name}"').fetchall()
                out[name] = sorted((tuple(r) for r in found), key=repr)
        return out
    finally:
        engine.dispose()


def engine_of(home: Path, key: list[str]) -> str:
    """The ``engine`` its newest materialisation of ``key`` reports."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        return event.asset_materialization.metadata["engine"].value


def test_a_whole_run_on_spark_gives_the_embedded_runs_database(sample_run, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JILIN_")}
    env.update({
        "JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources"),
        "JILIN_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "JILIN_ENGINE": "spark",
        "JILIN_SPARK_MASTER": "local[2]",
    })
    cli = Path(sys.executable).parent / "jilin-pipelines"
    done = subprocess.run([str(cli), "run"], env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])

    spark = Settings.from_env(env)
    embedded = rows(sample_run.settings.base_db_url)
    on_spark = rows(spark.base_db_url)
    assert sum(len(embedded[s.output]) for s in SCENARIOS) > 500 and len(embedded["scenario_evidence"]) > 1000
    assert on_spark.keys() == embedded.keys()
    differing = [name for name in embedded if on_spark[name] != embedded[name]]
    assert differing == [], differing

    # and it did run there: the merge and the scenarios report the engine their set-based core ran on
    for key in (["base", "person"], *(["scenario", s.output] for s in SCENARIOS)):
        assert engine_of(spark.dagster_home, key) == "spark", key
        assert engine_of(sample_run.settings.dagster_home, key) == "embedded", key
