"""The one place the environment is read: paths, URLs, embedded default versus production.

Every setting has a default that needs nothing started by hand (the embedded default: the committed
``sample_sources/``, a data directory in the checkout, SQLite). Production points the same variables at
the departments' real endpoints and databases.

| variable                        | default                                         |
|---------------------------------|-------------------------------------------------|
| JILIN_SOURCES_DIR               | ``<checkout>/sample_sources``                   |
| JILIN_DATA_DIR                  | ``<checkout>/data`` (git-ignored)               |
| JILIN_SOURCES_API_URL           | unset: API datasets read from their .jsonl files |
| JILIN_SOURCES_API_TOKEN         | unset (required when the URL is set)            |
| JILIN_SOCIAL_SECURITY_DB_URL    | ``sqlite:///<sources>/social_security/exchange.sqlite`` |
| JILIN_BASE_DB_URL               | ``sqlite:///<data>/base.sqlite``                |
| JILIN_OPENLINEAGE_URL           | unset: OpenLineage events only in ``<data>/lineage/openlineage.jsonl`` |
| DAGSTER_HOME                    | ``<checkout>/.dagster_home``                    |
| JILIN_ENV                       | ``embedded``; ``production`` applies the production rules |
| JILIN_PSEUDONYM_KEY             | unset (required in production: the pseudonym HMAC key) |
| JILIN_AUDIT_KEY                 | unset (required in production: the exchange audit log's HMAC key) |
| JILIN_AUDIT_ANCHOR              | ``<data>/audit/anchors.jsonl``: where every append writes the log's head, outside the database |
| JILIN_EXECUTOR                  | ``in_process``; ``multiprocess`` (a process per step), ``k8s`` (a pod per step: dagster-k8s, in the image) |
| JILIN_REPORTS_URL               | ``http://127.0.0.1:3001``: where ``jilin-pipelines reports`` (``make ui``) serves ``<data>/reports``; the assets link there |
| JILIN_PARTITIONS_START          | the first daily partition: the committed sample's first day, ``2025-06-02``; other sources ``2025-06-01`` |
| JILIN_PARTITIONS_END            | the committed sample: ``2025-06-08``, its last day; any other sources: unset, up to today |
| JILIN_PROVIDERS                 | ``<sources>/providers.yaml`` when there is one: the provider registry (``providers.py``); none, every dataset its one provider |
| JILIN_ENGINE                    | ``embedded`` (DuckDB in the process); ``spark``: the set-based core of the merge and the scenarios on Apache Spark (``engines.py``) |
| JILIN_SPARK_MASTER              | ``local[2]``; a cluster's ``spark://…``, ``k8s://…`` or Spark Connect ``sc://…`` URL |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jilin_pipelines.engines import ENGINES
from jilin_pipelines.providers import Registry, registry_for

CHECKOUT = Path(__file__).resolve().parent.parent
DAGSTER_YAML = CHECKOUT / "dagster.yaml"
ENVIRONMENTS = ("embedded", "production")
EXECUTORS = ("in_process", "multiprocess", "k8s")
SAMPLE_SOURCES = CHECKOUT / "sample_sources"
#: The days the committed sample delivers (``jilin-pipelines sample``'s defaults): the embedded default's partitions.
SAMPLE_FIRST_DAY, SAMPLE_LAST_DAY = date(2025, 6, 2), date(2025, 6, 8)
#: The first partition of any other sources (the platform's first delivery day) unless JILIN_PARTITIONS_START says.
DEFAULT_START = date(2025, 6, 1)


def _path(value: str | None, default: Path) -> Path:
    return Path(value).expanduser().resolve() if value else default


def _day(env: dict[str, str], name: str, default: date | None) -> date | None:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a day as YYYY-MM-DD") from None


@dataclass(frozen=True)
class Settings:
    sources_dir: Path
    data_dir: Path
    api_url: str | None
    api_token: str | None
    social_security_db_url: str
    base_db_url: str
    dagster_home: Path
    environment: str = "embedded"
    pseudonym_key: str | None = None
    audit_key: str | None = None  # JILIN_AUDIT_KEY: the HMAC key of the exchange audit log's chain
    audit_anchor: Path | None = None  # JILIN_AUDIT_ANCHOR: the file every append writes the log's head to
    openlineage_url: str | None = None  # an OpenLineage HTTP endpoint (Marquez): events are posted there too
    executor: str = "in_process"  # JILIN_EXECUTOR: the code location's default executor (definitions.py)
    reports_url: str = "http://127.0.0.1:3001"  # JILIN_REPORTS_URL: the report pages' server, as browsers reach it
    partitions_start: date = SAMPLE_FIRST_DAY  # JILIN_PARTITIONS_START: the first daily partition
    partitions_end: date | None = None  # JILIN_PARTITIONS_END: the last daily partition; None: up to today
    providers_file: Path | None = None  # JILIN_PROVIDERS: the provider registry; None: <sources>/providers.yaml if any
    engine: str = "embedded"  # JILIN_ENGINE: where the set-based core runs (engines.py)
    spark_master: str = "local[2]"  # JILIN_SPARK_MASTER: the Spark master, for JILIN_ENGINE=spark

    def registry(self) -> Registry:
        """The provider registry in force (``providers.py``): who delivers which dataset under its own code."""
        return registry_for(self.sources_dir, self.providers_file)

    @property
    def production(self) -> bool:
        """``JILIN_ENV=production``: secrets such as ``JILIN_PSEUDONYM_KEY`` must be set, no development fallbacks."""
        return self.environment == "production"

    @property
    def reports_dir(self) -> Path:
        """The HTML reports (``reports.py``): ``<data>/reports``."""
        return self.data_dir / "reports"

    def report_url(self, name: str) -> str:
        """The URL of a report page, served by ``jilin-pipelines reports`` (``make ui``)."""
        return f"{self.reports_url}/{name}"

    @property
    def lake_dir(self) -> Path:
        """The Parquet lake: ``<data>/lake/<layer>/<department>/<dataset>/<YYYY-MM-DD>.parquet``."""
        return self.data_dir / "lake"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        sources = _path(env.get("JILIN_SOURCES_DIR"), SAMPLE_SOURCES)
        api_url = env.get("JILIN_SOURCES_API_URL") or None
        api_token = env.get("JILIN_SOURCES_API_TOKEN") or None
        if api_url and not api_token:
            raise ValueError("JILIN_SOURCES_API_URL is set but JILIN_SOURCES_API_TOKEN is not: the API needs a token")
        data_dir = _path(env.get("JILIN_DATA_DIR"), CHECKOUT / "data")
        environment = (env.get("JILIN_ENV") or "embedded").strip().lower()
        if environment not in ENVIRONMENTS:
            raise ValueError(f"JILIN_ENV={env.get('JILIN_ENV')!r}: expected one of {', '.join(ENVIRONMENTS)}")
        executor = (env.get("JILIN_EXECUTOR") or "in_process").strip().lower()
        if executor not in EXECUTORS:
            raise ValueError(f"JILIN_EXECUTOR={env.get('JILIN_EXECUTOR')!r}: expected one of {', '.join(EXECUTORS)}")
        engine = (env.get("JILIN_ENGINE") or "embedded").strip().lower()
        if engine not in ENGINES:
            raise ValueError(f"JILIN_ENGINE={env.get('JILIN_ENGINE')!r}: expected one of {', '.join(ENGINES)}")
        return cls(
            sources_dir=sources,
            data_dir=data_dir,
            api_url=api_url.rstrip("/") if api_url else None,
            api_token=api_token,
            social_security_db_url=env.get("JILIN_SOCIAL_SECURITY_DB_URL")
            or f"sqlite:///{sources / 'social_security' / 'exchange.sqlite'}",
            base_db_url=env.get("JILIN_BASE_DB_URL") or f"sqlite:///{data_dir / 'base.sqlite'}",
            dagster_home=_path(env.get("DAGSTER_HOME"), CHECKOUT / ".dagster_home"),
            environment=environment,
            pseudonym_key=env.get("JILIN_PSEUDONYM_KEY") or None,
            audit_key=env.get("JILIN_AUDIT_KEY") or None,
            audit_anchor=_path(env.get("JILIN_AUDIT_ANCHOR"), data_dir / "audit" / "anchors.jsonl"),
            openlineage_url=(env.get("JILIN_OPENLINEAGE_URL") or "").strip().rstrip("/") or None,
            executor=executor,
            reports_url=(env.get("JILIN_REPORTS_URL") or "http://127.0.0.1:3001").strip().rstrip("/"),
            providers_file=_path(env.get("JILIN_PROVIDERS"), None),
            engine=engine,
            spark_master=(env.get("JILIN_SPARK_MASTER") or "local[2]").strip(),
            **_partitions(env, sources),
        )


def _partitions(env: dict[str, str], sources: Path) -> dict[str, date | None]:
    """The daily partitions' first and last day. The committed sample's week by default when it is the sources
    (a fresh run fills every partition, not 7 of the days since 2025); any other sources directory: open-ended,
    a new partition every day, from ``DEFAULT_START`` — unless ``JILIN_PARTITIONS_START``/``_END`` say."""
    sample = sources == SAMPLE_SOURCES
    start = _day(env, "JILIN_PARTITIONS_START", SAMPLE_FIRST_DAY if sample else DEFAULT_START)
    end = _day(env, "JILIN_PARTITIONS_END", SAMPLE_LAST_DAY if sample else None)
    if end is not None and end < start:
        raise ValueError(f"JILIN_PARTITIONS_END={end} is before JILIN_PARTITIONS_START={start}")
    return {"partitions_start": start, "partitions_end": end}


def ensure_dagster_home(settings: Settings) -> Path:
    """Make ``DAGSTER_HOME`` usable: the folder exists, holds a dagster.yaml, and the variable is set.

    A dagster.yaml already in an existing DAGSTER_HOME is respected; otherwise the checkout's is copied.
    """
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        target.write_text(DAGSTER_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
