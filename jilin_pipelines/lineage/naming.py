"""OpenLineage names: of jobs, runs and datasets, and the spec's schema URLs. No Dagster here.

Naming
------
Jobs
    namespace ``jilin_pipelines`` (:data:`JOB_NAMESPACE`); name the asset key joined by ``/``
    (``traffic_police/raw/motor_vehicles``, ``traffic_police/standardised/motor_vehicles``,
    ``base/person``, ``scenario_social_assistance_verification/decisions``): :func:`job_name`.
    A scenario is a job of its own, ``scenario_<name>`` (:func:`scenario_job_name`), the ``parent`` of
    every run of the scenario's assets.
Runs
    ``runId`` is a UUID. One OpenLineage run per asset materialisation (per partition): derive it
    from the Dagster run ID with :func:`run_id_for` so START and COMPLETE/FAIL agree without shared state.
Datasets
    * the departments' sources, before landing: files ``file://<sources dir>`` with name
      ``<department>/<dataset>`` (the folder of the daily files; the day's file's SHA-256 is the
      dataset version); the HTTP API its base URL (``http://host:port``) with name
      ``api/v1/<department>/<dataset>``; a front-end database its URL without user or password
      (``postgresql://host:5432/db``, ``sqlite:///path``) with the table as name —
      :func:`file_source_namespace`, :func:`api_source_namespace`, :func:`database_source_namespace`;
    * the Parquet lake ``jilin://lake`` (:data:`LAKE_NAMESPACE`), name ``<layer>/<department>/<dataset>``
      (``raw/traffic_police/motor_vehicles``, ``standardised/traffic_police/motor_vehicles``,
      ``quarantine/...``): :func:`lake_name`;
    * the base databases ``jilin://base`` (:data:`BASE_NAMESPACE`), name the table (``person``,
      ``legal_entity``, ``vehicle``, ...);
    * scenario results ``jilin://scenarios`` (:data:`SCENARIO_NAMESPACE`), name ``<scenario>/<table>``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit



# --- names -------------------------------------------------------------------------------------------

PRODUCER = "urn:jilin-pipelines:jilin_pipelines:0.1.0"
"""``producer`` of every event and ``_producer`` of every facet (no public repository URL exists yet)."""

JOB_NAMESPACE = "jilin_pipelines"
LAKE_NAMESPACE = "jilin://lake"
BASE_NAMESPACE = "jilin://base"
SCENARIO_NAMESPACE = "jilin://scenarios"

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")

OPENLINEAGE_SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA_URL = f"{OPENLINEAGE_SPEC_ID}#/$defs/RunEvent"

# The facet schemas of the spec copy in tests/lineage/openlineage-spec (tests check these against it).
_OL_FACETS = "https://openlineage.io/spec/facets"
FACET_SCHEMA_URLS = {
    "schema": f"{_OL_FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "columnLineage": f"{_OL_FACETS}/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "dataQualityAssertions": (
        f"{_OL_FACETS}/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
    ),
    "version": f"{_OL_FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "dataQualityMetrics": (
        f"{_OL_FACETS}/1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet"
    ),
    "outputStatistics": (
        f"{_OL_FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
    ),
    "parent": f"{_OL_FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{_OL_FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "nominalTime": f"{_OL_FACETS}/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
    "jobType": f"{_OL_FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
}
OWN_FACETS_DIR = Path(__file__).parent  # *Facet.json beside this module: package data, found without a subpackage
OWN_FACET_GLOB = "*Facet.json"
JILIN_PURPOSE_SCHEMA_URL = (
    "urn:jilin-pipelines:openlineage:facets:1-0-0:JilinPurposeRunFacet.json#/$defs/JilinPurposeRunFacet"
)
FACET_SCHEMA_URLS["jilin_purpose"] = JILIN_PURPOSE_SCHEMA_URL

_RUN_ID_NAMESPACE = uuid.UUID("5f0c1d2e-7a43-5b8e-9c61-4a2f3e8d9b70")
_SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
_SCENARIO = re.compile(r"^[a-z][a-z0-9_]*$")


def job_name(asset_key: str | Sequence[str]) -> str:
    """The job name of an asset: its key's parts joined by ``/`` (a string is taken as already joined)."""
    parts = [asset_key] if isinstance(asset_key, str) else list(asset_key)
    if not parts or any(not p for p in parts):
        raise ValueError(f"not an asset key: {asset_key!r}")
    return "/".join(parts)


def scenario_job_name(scenario: str) -> str:
    """``scenario_<name>``: the job standing for a scenario, the parent of its assets' runs."""
    if not _SCENARIO.match(scenario):
        raise ValueError(f"not a scenario name: {scenario!r}")
    return f"scenario_{scenario}"


def lake_name(layer: str, department: str, dataset: str) -> str:
    """``<layer>/<department>/<dataset>``, the name of a lake dataset in :data:`LAKE_NAMESPACE`."""
    return job_name([layer, department, dataset])


def run_id_for(*parts: object) -> str:
    """A UUID determined by ``parts`` (e.g. Dagster run ID, asset key, partition): same parts, same run."""
    if not parts:
        raise ValueError("run_id_for needs at least one part")
    return str(uuid.uuid5(_RUN_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def file_source_namespace(sources_dir: str | os.PathLike[str]) -> str:
    """``file://<absolute sources dir>`` (percent-encoded as a file URI)."""
    return Path(sources_dir).resolve().as_uri()


def api_source_namespace(base_url: str) -> str:
    """The API's ``scheme://host[:port][/path]``: no user, password, query or fragment."""
    parts = urlsplit(base_url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an absolute URL: {base_url!r}")
    return urlunsplit((parts.scheme, _host_port(parts), parts.path.rstrip("/"), "", ""))


def database_source_namespace(url: str) -> str:
    """A database URL without user, password or query; the driver suffix (``+psycopg2``) is dropped."""
    parts = urlsplit(url)
    if not parts.scheme:
        raise ValueError(f"not a database URL: {url!r}")
    scheme = parts.scheme.split("+", 1)[0]
    return f"{scheme}://{_host_port(parts)}{parts.path}"  # by hand: urlunsplit drops the // of sqlite:///path


def _host_port(parts) -> str:
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host
