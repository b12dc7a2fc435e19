"""The merge's set-based core on Apache Spark (``local[2]``) from the same definition as the embedded engine: the
committed sample's first three days, every dataset, merged with ``compute=Spark`` gives, row for row, the database the embedded
engine gives (golden keys, attributes, validity, provenance, record hashes; delivered versions; deliveries) — and a
late partition (the history recomputed, not extended) too. Needs the spark extra and Java 17 (``.ci/run`` installs
both); a machine without them fails here rather than skipping."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from base_testkit import dump

from jilin_pipelines.base import merge_partitions, upgrade
from jilin_pipelines.engines import Spark, spark_sql

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def spark_stopped_after():
    """The Spark session these tests start (a JVM of about 1 GiB that keeps a core busy now and then) is stopped
    with the module, not left to the rest of the suite."""
    yield
    from pyspark.sql import SparkSession

    from jilin_pipelines.engines import _session

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    _session.cache_clear()


def _merged(url: str, sample, days: list[date], compute) -> dict:
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        for day in days:
            merge_partitions(engine, day, {ds: parts[day] for ds, parts in sample.items() if day in parts},
                             compute=compute)
        return dump(engine)
    finally:
        engine.dispose()


def test_spark_merges_the_sample_as_the_embedded_engine_does(sample, tmp_path):
    days = sorted({d for parts in sample.values() for d in parts})[:3]
    late = [days[0], days[2], days[1]]  # the second day last: the keys it touches are recomputed, not extended
    embedded = _merged(f"sqlite:///{tmp_path / 'embedded.sqlite'}", sample, late, None)
    spark = _merged(f"sqlite:///{tmp_path / 'spark.sqlite'}", sample, late, Spark("local[2]"))
    assert sum(len(embedded[t]) for t in ("person", "legal_entity", "certificate", "vehicle")) > 1000
    assert spark.keys() == embedded.keys()
    for table in embedded:
        assert spark[table] == embedded[table], table


def test_the_query_spark_runs_is_the_definition_transpiled():
    """Not a second text: what Spark runs is the embedded query through SQLGlot (Spark's ``MIN_BY`` for
    ``ARG_MIN``, back-quoted names)."""
    from jilin_pipelines.base.config import base_config
    from jilin_pipelines.base.survivorship import golden_sql

    text = spark_sql(golden_sql(base_config().table("person")))
    assert "MIN_BY(" in text and "ARG_MIN(" not in text
    assert "`src:name`" in text


def test_spark_is_the_compute_resource_of_the_merge_and_the_scenarios_only_when_chosen():
    """``JILIN_ENGINE=spark``: the ``compute`` resource the merge and every scenario require is dagster-pyspark's,
    on ``JILIN_SPARK_MASTER``; the embedded default binds the embedded engine there (and needs no PySpark)."""
    import dataclasses

    import dagster as dg
    from dagster_pyspark import PySparkResource

    from jilin_pipelines.definitions import build_definitions
    from jilin_pipelines.defs.resources import EmbeddedCompute, compute_engine
    from jilin_pipelines.scenarios import SCENARIOS
    from jilin_pipelines.settings import Settings

    chosen = dataclasses.replace(Settings.from_env({}), engine="spark", spark_master="local[1]")
    defs = build_definitions(chosen)
    users = [dg.AssetKey(["base", "person"]), *(dg.AssetKey(["scenario", s.output]) for s in SCENARIOS)]
    for key in users:
        assert "compute" in defs.resolve_assets_def(key).required_resource_keys, key
    resource = defs.resources["compute"]
    assert isinstance(resource, PySparkResource) and resource.spark_config["spark.master"] == "local[1]"
    default = build_definitions(dataclasses.replace(chosen, engine="embedded"))
    assert isinstance(default.resources["compute"], EmbeddedCompute)
    assert compute_engine(default.resources["compute"]).name == "embedded"


def test_great_expectations_imports_beside_the_spark_extra_in_a_bare_process():
    """Great Expectations imports ``pyspark.sql.connect`` when PySpark is installed; without Spark Connect's own
    dependencies that module ends a process whose ``__main__`` is bare (``python -c``, Dagster's run workers) with
    exit status 0 — every step of such a run then failed. The extra installs them (``pyspark[connect]``)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import great_expectations; print('imported')"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-2000:]
