"""The one ``dg.Definitions`` of the code location, generated from the catalogue."""

from __future__ import annotations

import dagster as dg

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.defs.automation import automate, build_schedules, build_sensors
from jilin_pipelines.defs.base_assets import base_assets
from jilin_pipelines.defs.fairness_assets import fairness_assets
from jilin_pipelines.defs.partitions import DAILY
from jilin_pipelines.defs.raw_assets import raw_asset, source_spec
from jilin_pipelines.defs.resources import EmbeddedCompute, PipelineSettings
from jilin_pipelines.defs.scenario_assets import ScenarioThresholds, scenario_assets, scenario_jobs
from jilin_pipelines.defs.standardised_assets import scorecard_asset, standardised_asset
from jilin_pipelines.settings import Settings

MAIN_JOB = "main"


def executor_def(name: str) -> dg.ExecutorDefinition:
    """``JILIN_EXECUTOR``: in-process by default (every step process would otherwise re-import Great Expectations,
    ~3 s); ``multiprocess`` runs each step in a process of its own; ``k8s`` each step in a pod of its own
    (``dagster_k8s.k8s_job_executor``: dagster-k8s is installed in the image, deploy/Dockerfile, not locally)."""
    if name == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return dg.multiprocess_executor if name == "multiprocess" else dg.in_process_executor


def _compute_resource(settings: Settings) -> dg.ConfigurableResource:
    """The ``compute`` resource: with ``JILIN_ENGINE=spark`` the Spark session (dagster-pyspark, of our Dagster
    family) on ``JILIN_SPARK_MASTER``, else the embedded engine."""
    if settings.engine != "spark":
        return EmbeddedCompute()
    from dagster_pyspark import PySparkResource

    from jilin_pipelines.engines import spark_config

    return PySparkResource(spark_config=spark_config(settings.spark_master))


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    entries = catalogue().entries
    assets = automate([  # the layers after the raw landing run after their inputs (declarative automation)
        *(raw_asset(e) for e in entries),
        *(standardised_asset(e) for e in entries),
        scorecard_asset(entries),
        base_assets(),
        *scenario_assets(),
        *fairness_assets(),
    ]) + [source_spec(e) for e in entries]  # the departments' deliveries: external, the roots of the lineage
    main = dg.define_asset_job(
        MAIN_JOB,
        selection=dg.AssetSelection.all(),
        partitions_def=DAILY,
        description="Every asset for one day: what `make run` materialises for each day in the sources.",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[main, *scenario_jobs()],
        schedules=build_schedules(catalogue().entries),
        sensors=build_sensors(catalogue().entries),
        resources={"settings": PipelineSettings.from_settings(settings), "scenario_thresholds": ScenarioThresholds(),
                   "compute": _compute_resource(settings)},
        executor=executor_def(settings.executor),
    )


defs = build_definitions()
