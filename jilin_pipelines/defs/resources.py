"""The pipeline's settings as a Dagster resource, bound once in ``definitions.py`` from the environment; and
``compute``, where the set-based core of the merge and the scenarios runs."""

from __future__ import annotations

import dagster as dg

from jilin_pipelines.engines import EMBEDDED, Engine, Spark
from jilin_pipelines.settings import Settings


class EmbeddedCompute(dg.ConfigurableResource):
    """The ``compute`` resource of the embedded engine (``JILIN_ENGINE=embedded``, the default): DuckDB in the
    step's process, nothing to configure. With ``JILIN_ENGINE=spark`` the resource is dagster-pyspark's
    ``PySparkResource`` instead (``definitions.py``)."""


def compute_engine(resource: dg.ConfigurableResource) -> Engine:
    """The engine the bound ``compute`` resource stands for: Spark on a PySpark resource's session, else embedded."""
    return Spark(session=resource.spark_session) if hasattr(type(resource), "spark_session") else EMBEDDED


class PipelineSettings(dg.ConfigurableResource):
    """Where the sources and the data directory are, and how the departments are reached."""

    sources_dir: str
    data_dir: str
    social_security_db_url: str
    base_db_url: str
    dagster_home: str
    api_url: str | None = None
    api_token: str | None = None
    openlineage_url: str | None = None  # OpenLineage HTTP endpoint; events always go to <data>/lineage/ too
    environment: str = "embedded"  # JILIN_ENV: embedded or production
    pseudonym_key: str | None = None  # JILIN_PSEUDONYM_KEY, a secret: bound as an EnvVar
    engine: str = "embedded"  # JILIN_ENGINE: where the merge's set-based core runs (embedded or spark)
    spark_master: str = "local[2]"  # JILIN_SPARK_MASTER

    @classmethod
    def from_settings(cls, s: Settings) -> PipelineSettings:
        return cls(
            sources_dir=str(s.sources_dir),
            data_dir=str(s.data_dir),
            social_security_db_url=s.social_security_db_url,
            base_db_url=s.base_db_url,
            dagster_home=str(s.dagster_home),
            api_url=s.api_url,
            # The token is a secret: read from the environment at run time, never stored in the definitions.
            api_token=dg.EnvVar("JILIN_SOURCES_API_TOKEN") if s.api_token else None,
            openlineage_url=s.openlineage_url,
            environment=s.environment,
            pseudonym_key=dg.EnvVar("JILIN_PSEUDONYM_KEY") if s.pseudonym_key else None,
            engine=s.engine,
            spark_master=s.spark_master,
        )

    def base_engine(self):
        """The base database, migrated to the newest schema."""
        from jilin_pipelines.db import base_engine

        return base_engine(self.base_db_url)

    def get(self) -> Settings:
        from pathlib import Path

        return Settings(
            sources_dir=Path(self.sources_dir),
            data_dir=Path(self.data_dir),
            api_url=self.api_url,
            api_token=self.api_token,
            social_security_db_url=self.social_security_db_url,
            base_db_url=self.base_db_url,
            dagster_home=Path(self.dagster_home),
            openlineage_url=self.openlineage_url,
            environment=self.environment,
            pseudonym_key=self.pseudonym_key,
            engine=self.engine,
            spark_master=self.spark_master,
        )
